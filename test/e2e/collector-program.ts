import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";
import { testNatsUrl } from "@kasmap/testing/harness";

const root = fileURLToPath(new URL("../..", import.meta.url));

export type CollectorProgramOptions = {
  /** `KASMAP_AGENT_TOKEN`: an agent token (`glagent-`) or a collector token (`kmcol-`). */
  token: string;
  kubeconfig: string;
  topologyRoot: string;
  /** The downward-API values agentk's pod would give it; absent: not set. */
  pod?: { ip: string; namespace: string; name?: string; node?: string };
  logLevel?: string;
  /** More flags, e.g. `["--heartbeat-seconds", "1"]`. */
  args?: string[];
};

/**
 * The collector program as an operator runs it (`services/collector/bin/kasmap-collector.mjs`,
 * 50 ms coalescing), against the test run's NATS. Its stdout and stderr are kept in `output()`
 * (e.g. to show a token never appears there); the caller kills the child.
 */
export function spawnCollectorProgram(options: CollectorProgramOptions): {
  child: ChildProcess;
  output: () => string;
} {
  const child = spawn(
    process.execPath,
    [
      join(root, "services/collector/bin/kasmap-collector.mjs"),
      "--coalesce-ms",
      "50",
      ...(options.args ?? []),
    ],
    {
      env: {
        ...process.env,
        KASMAP_AGENT_TOKEN: options.token,
        KUBECONFIG: options.kubeconfig,
        NATS_URL: testNatsUrl(),
        KASMAP_TOPOLOGY_ROOT: options.topologyRoot,
        ...(options.pod ? { POD_IP: options.pod.ip, POD_NAMESPACE: options.pod.namespace } : {}),
        ...(options.pod?.name ? { POD_NAME: options.pod.name } : {}),
        ...(options.pod?.node ? { NODE_NAME: options.pod.node } : {}),
        LOG_LEVEL: options.logLevel ?? "silent",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString("utf8");
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return { child, output: () => output };
}

/**
 * The demo cluster (three kubeadm nodes) served by the Kubernetes simulator on loopback, and a
 * kubeconfig file for it in a fresh temporary directory: what a collector program runs against.
 * The caller closes the simulator.
 */
export async function startDemoKubeCluster(): Promise<{ simulator: KubeSimulator; kubeconfig: string }> {
  const simulator = new KubeSimulator();
  await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  await simulator.start({ host: "127.0.0.1", port: 0 });
  const kubeconfig = join(mkdtempSync(join(tmpdir(), "kasmap-demo-kube-")), "kubeconfig");
  await simulator.writeKubeconfig(kubeconfig);
  return { simulator, kubeconfig };
}

/** Gives a node of the simulated cluster a new InternalIP, as a cloud provider replacing a node would. */
export function changeNodeInternalIp(simulator: KubeSimulator, nodeName: string, address: string): void {
  simulator.patchNode(nodeName, (node) => {
    const status = node.status as { addresses: Array<{ type: string; address: string }> };
    return {
      ...node,
      status: {
        ...status,
        addresses: status.addresses.map((a) => (a.type === "InternalIP" ? { ...a, address } : a)),
      },
    };
  });
}

/** Stops a collector program with SIGTERM and waits until it exited; nothing for one not running. */
export async function stopCollectorProgram(child: ChildProcess | null | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });
}

/** Something a test file started and closes after it (`stop` where it has one, else `close`). */
type Closable = { stop: () => Promise<void> } | { close: () => Promise<void> };

/**
 * A file's teardown when it ran collector programs: the collectors first (so none reports into
 * a stopping system), then each resource in the order given; resources never started are skipped.
 */
export async function stopCollectorsThenClose(
  collectors: readonly ChildProcess[],
  ...resources: Array<Closable | undefined>
): Promise<void> {
  for (const collector of collectors) collector.kill("SIGTERM");
  for (const resource of resources) {
    if (resource === undefined) continue;
    await ("stop" in resource ? resource.stop() : resource.close());
  }
}
