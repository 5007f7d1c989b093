import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ClusterFactsSchema } from "@kasmap/contracts";
import { buildKubeconfig } from "@kasmap/kube-simulator";
import { afterEach, describe, expect, it } from "vitest";
import { UnansweredClusterError } from "./collector.ts";
import { type CollectorTestCluster, startCollectorTestCluster } from "./testing/collector-test-cluster.ts";

/**
 * Issue 11: a source that failed is not "not found", a snapshot without word from the API
 * server is not the cluster's truth, and a plain-HTTP kubeconfig works. Each test gets its own
 * simulator (faults are server-wide).
 */
const BIN = fileURLToPath(new URL("../bin/kasmap-collector.mjs", import.meta.url));
let cluster: CollectorTestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function kubeconfigFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "kasmap-failures-")), "kubeconfig");
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function runOnce(args: string[]) {
  const { KASMAP_AGENT_TOKEN: _token, KUBECONFIG: _kubeconfig, ...env } = process.env;
  return promisify(execFile)(process.execPath, [BIN, "--once", ...args], { env, timeout: 60_000 }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      stdout: e.stdout,
      stderr: e.stderr,
      code: e.code,
    }),
  );
}

describe("kasmap-collector --once", () => {
  it("works with a plain http:// kubeconfig server (kubectl proxy), no insecure-skip-tls-verify", async () => {
    cluster = await startCollectorTestCluster();
    const path = kubeconfigFile(buildKubeconfig(cluster.simulator.url, { insecureSkipTlsVerify: false }));
    const { stdout, code, stderr } = await runOnce(["--kubeconfig", path]);
    expect(stderr).not.toMatch(/HTTP protocol is not allowed/);
    expect(code).toBe(0);
    const facts = ClusterFactsSchema.parse(JSON.parse(stdout));
    expect(facts.node_ips.internal).toEqual(["192.168.49.2", "192.168.49.3", "192.168.49.4"]);
    expect(facts.kubernetes_version?.git_version).toMatch(/^v1\./);
  });

  it("exits non-zero and says why when the API server never answers", async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const path = kubeconfigFile(buildKubeconfig(server, { insecureSkipTlsVerify: false }));
    const { stdout, stderr, code } = await runOnce(["--kubeconfig", path, "--settle-seconds", "1"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/the API server never answered for nodes: unreachable \([^)]*ECONNREFUSED/);
    expect(stderr).toMatch(/\/version: unreachable/);
  });
});

describe("a running collector", () => {
  it("reports a source that answers HTTP 500 as error with the text, not as not-found", async () => {
    cluster = await startCollectorTestCluster();
    cluster.simulator.injectFault("/api/v1/namespaces/kube-system/configmaps", 500, {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: "etcdserver: request timed out",
      code: 500,
    });
    cluster.startCollector(31, { settleTimeoutMs: 500 });
    // The settle timeout lets the snapshot out without the failing source's answer.
    const snapshot = await cluster.latestSnapshotWhen(
      31,
      (facts) => JSON.stringify(facts.sources.cluster_name).includes("HTTP 500"),
      "a snapshot that saw the 500",
    );
    expect(snapshot.cluster.cluster_name).toBeNull();
    expect(snapshot.cluster.sources.cluster_name).toMatchObject({
      kind: "missing",
      reason: "error",
      detail: expect.stringContaining(
        "ConfigMap kube-system/kubeadm-config: error (HTTP 500: etcdserver: request timed out)",
      ),
    });
  });

  it("publishes nothing while /version never answered, then publishes once it does", async () => {
    cluster = await startCollectorTestCluster();
    cluster.simulator.injectFault("/version", 502, "<html><body>502 Bad Gateway</body></html>");
    const collector = cluster.startCollector(32, { settleTimeoutMs: 2_000 });
    const refused = await collector.firstFacts.then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(UnansweredClusterError);
    // The 502 arrives within milliseconds; on a starved machine the settle timeout may come first.
    expect((refused as UnansweredClusterError).unanswered).toContainEqual(
      expect.stringMatching(
        /^\/version: (error \(HTTP 502: <html><body>502 Bad Gateway<\/body><\/html>\)|unreachable \(no answer yet\))$/,
      ),
    );
    expect(await cluster.snapshots(32)).toEqual([]);

    cluster.simulator.clearFault("/version");
    const snapshot = await cluster.latestSnapshotWhen(32, (f) => f.kubernetes_version !== null, "a snapshot");
    expect(snapshot.cluster.node_count).toBe(3);
  });
});
