import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildIncidentRegistry,
  facts,
  type IncidentRegistry,
  publishSnapshot,
} from "./incident-response-fixture.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * `kasmap-verify` as a CI job runs it: a child process, configured by environment and flags,
 * judged by its exit code. The personal-token path runs against the real system; the job-token
 * path against a stand-in serving GitLab's `allowed_agents` shape (Kasmap's own route is not
 * committed yet).
 */
const cli = fileURLToPath(new URL("../../cli/kasmap-verify/kasmap-verify.mjs", import.meta.url));
const system = kasmapSystemForFile();
/** The incident registry's prod-agent, named as `--agent` takes it: `<config project path>:<agent name>`. */
const PROD_AGENT = "acme/platform/clusters:prod-agent";
let registry: IncidentRegistry;
let standIn: Server;
let standInUrl: string;

type Run = { code: number | null; stdout: string; stderr: string };

function runCli(args: string[], env: Record<string, string>): Promise<Run> {
  const { KASMAP_TOKEN: _t, CI_JOB_TOKEN: _j, KASMAP_URL: _u, ...inherited } = process.env;
  const child = spawn(process.execPath, [cli, ...args], { env: { ...inherited, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const jobFacts = facts({ cluster_name: "job-cluster" });
/** Facts as a row stored before the contract bounded their text may still hold them. */
const storedEarlier = facts({
  cluster_name: "stored-earlier",
  sources: {
    region: { kind: "missing", reason: "invalid", detail: `nodes disagree: ${"r".repeat(10_000)}` },
  },
});

beforeAll(async () => {
  registry = await buildIncidentRegistry(system);
  await publishSnapshot(system, registry.agents.prod, facts());
  await eventually(async () => {
    const r = await system.api("GET", "/clusters/lookup?ip=52.1.2.3");
    return Array.isArray(r.body) && r.body.length === 1 ? true : undefined;
  }, "the snapshot projected");
  standIn = createServer((request, response) => {
    const allowed = request.url === "/api/v4/job/allowed_agents?with_cluster_info=true";
    if (!allowed || request.headers["job-token"] !== "job-token-1") {
      response.writeHead(allowed ? 401 : 404, { "content-type": "application/json" });
      return response.end(JSON.stringify({ message: allowed ? "401 Unauthorized" : "404 Not Found" }));
    }
    const project = { id: 3, path_with_namespace: "acme/infra" };
    const info = { ...jobFacts, deployment_status: "connected", last_connection: jobFacts.observed_at };
    const earlier = {
      ...storedEarlier,
      deployment_status: "connected",
      last_connection: jobFacts.observed_at,
    };
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        allowed_agents: [
          { id: 5, config_project: project, configuration: {}, cluster_info: info },
          { id: 6, config_project: project, configuration: {}, cluster_info: null },
          { id: 8, config_project: project, configuration: {}, cluster_info: earlier },
        ],
        job: { id: 1 },
      }),
    );
  });
  await new Promise<void>((resolve) => standIn.listen(0, "127.0.0.1", resolve));
  standInUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => standIn?.close(resolve));
});

describe("kasmap-verify with a personal access token", () => {
  const env = () => ({ KASMAP_URL: system.gatewayUrl, KASMAP_TOKEN: registry.developerToken });

  it("exits 0 when every check passes, printing the table", async () => {
    const run = await runCli(
      ["--agent", PROD_AGENT, "--expect-node-ips", "10.0.0.0/16,52.0.0.0/8", "--expect-cluster-name", "prod"],
      env(),
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^STATUS\s+FIELD/);
    expect(run.stdout).toContain(`kasmap-verify: all 4 checks passed for ${PROD_AGENT}`);
  });

  it("exits 1 on a mismatch and on a cluster that has not reported", async () => {
    const mismatch = await runCli(["--agent", PROD_AGENT, "--expect-node-ips", "10.0.0.0/16"], env());
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toMatch(/FAIL\s+node_ips\.external\s+52\.1\.2\.3/);
    const pending = await runCli(
      [
        "--agent",
        `acme/platform/clusters:${registry.agents.pending}`,
        "--expect-pod-cidrs",
        "10.0.0.0/8",
        "--json",
      ],
      env(),
    );
    expect(pending.code).toBe(1);
    expect(JSON.parse(pending.stdout)).toMatchObject({
      ok: false,
      checks: [{ field: "pod_cidrs", value: null }],
    });
  });

  it("exits 2 on usage, access and network errors", async () => {
    const noAgent = await runCli(["--expect-node-ips", "10.0.0.0/8"], env());
    expect(noAgent.code).toBe(2);
    expect(noAgent.stderr).toContain("--agent is required");
    const badRange = await runCli(["--agent", PROD_AGENT, "--expect-node-ips", "10.0.0.0/40"], env());
    expect(badRange.code).toBe(2);
    expect(badRange.stderr).toContain("answered 400");
    const hidden = await runCli(["--agent", PROD_AGENT, "--expect-node-ips", "10.0.0.0/8"], {
      KASMAP_URL: system.gatewayUrl,
      KASMAP_TOKEN: registry.outsiderToken,
    });
    expect(hidden.code).toBe(2);
    const unreachable = await runCli(["--agent", "a/b:c", "--expect-node-ips", "10.0.0.0/8"], {
      KASMAP_URL: "http://127.0.0.1:1",
      KASMAP_TOKEN: "x",
    });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain("cannot reach the gateway");
    const noToken = await runCli(["--agent", "a/b:c", "--expect-node-ips", "10.0.0.0/8"], {
      KASMAP_URL: system.gatewayUrl,
    });
    expect(noToken.code).toBe(2);
  });
});

describe("kasmap-verify with a CI job token", () => {
  const env = () => ({ KASMAP_URL: standInUrl, CI_JOB_TOKEN: "job-token-1" });

  it("verifies the allowed agent's cluster_info locally: 0 on match, 1 on mismatch or no report", async () => {
    expect((await runCli(["--agent", "5", "--expect-cluster-name", "job-cluster"], env())).code).toBe(0);
    expect((await runCli(["--agent", "acme/infra:5", "--expect-platform", "gke"], env())).code).toBe(1);
    expect((await runCli(["--agent", "6", "--expect-node-ips", "10.0.0.0/8"], env())).code).toBe(1);
  });

  it("verifies facts the gateway serves from a row stored before the contract bounded their text", async () => {
    const run = await runCli(["--agent", "8", "--expect-cluster-name", "stored-earlier"], env());
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("exits 2 for an agent the job may not use, a name instead of an id, or a rejected token", async () => {
    expect((await runCli(["--agent", "7", "--expect-cluster-name", "x"], env())).code).toBe(2);
    expect((await runCli(["--agent", "acme/infra:prod", "--expect-cluster-name", "x"], env())).code).toBe(2);
    const rejected = await runCli(["--agent", "5", "--expect-cluster-name", "x"], {
      KASMAP_URL: standInUrl,
      CI_JOB_TOKEN: "wrong",
    });
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toContain("answered 401");
  });
});
