import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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
