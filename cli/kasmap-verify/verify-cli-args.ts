import { parseArgs } from "node:util";
import { type ClusterExpectations, ClusterExpectationsSchema } from "@kasmap/contracts";

/**
 * The agent a CI job names: `123` (an agent id), `group/project:agent-name`, or
 * `group/project:123`. A bare id is enough with a job token (the job's allowed agents carry
 * ids); with a personal access token the verify route needs the configuration project too.
 */
export type AgentRef =
  | { kind: "id"; id: number }
  | { kind: "in-project"; projectPath: string; name: string }
  | { kind: "id-in-project"; projectPath: string; id: number };

export type VerifyCommand = {
  agent: AgentRef;
  expectations: ClusterExpectations;
  /** Print the verification result as JSON instead of a table. */
  json: boolean;
};

/** A command line the CLI cannot run; exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage: kasmap-verify --agent <id | project/path:agent-name> [expectations]
expectations (ranges are comma-separated CIDRs or addresses; flags may repeat):
  --expect-api-endpoint-ip <ranges>     --expect-node-ips <ranges>
  --expect-node-ips-internal <ranges>   --expect-node-ips-external <ranges>
  --expect-pod-cidrs <ranges>           --expect-service-cidrs <ranges>
  --expect-cluster-name <name>          --expect-cluster-context <name>
  --expect-platform <eks|gke|aks|openshift|k3s|kind|minikube|kubeadm|unknown>
  --expect-cluster-uid <uid>            the kube-system Namespace UID (fails when the agent moved)
  --json                                print the result as JSON
environment: KASMAP_URL (the gateway), and KASMAP_TOKEN (personal access token) or CI_JOB_TOKEN
exit codes: 0 every check passed, 1 a check failed, 2 usage, network or server error`;

const RANGE_FLAGS = {
  "expect-api-endpoint-ip": "api_endpoint_ip",
  "expect-node-ips": "node_ips",
  "expect-node-ips-internal": "node_ips_internal",
  "expect-node-ips-external": "node_ips_external",
  "expect-pod-cidrs": "pod_cidrs",
  "expect-service-cidrs": "service_cidrs",
} as const;
const TEXT_FLAGS = {
  "expect-cluster-name": "cluster_name",
  "expect-cluster-context": "cluster_context",
  "expect-platform": "platform",
  "expect-cluster-uid": "cluster_uid",
} as const;

const ranges = { type: "string", multiple: true } as const;
const text = { type: "string" } as const;
const OPTIONS = {
  agent: text,
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
  "expect-api-endpoint-ip": ranges,
  "expect-node-ips": ranges,
  "expect-node-ips-internal": ranges,
  "expect-node-ips-external": ranges,
  "expect-pod-cidrs": ranges,
  "expect-service-cidrs": ranges,
  "expect-cluster-name": text,
  "expect-cluster-context": text,
  "expect-platform": text,
  "expect-cluster-uid": text,
} as const;

/** Parses the command line, or throws `UsageError` (also for `--help`, whose message is the usage). */
export function parseVerifyArgs(argv: readonly string[]): VerifyCommand {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (values.help === true) throw new UsageError(USAGE);
  if (typeof values.agent !== "string") throw new UsageError(`--agent is required\n${USAGE}`);
  const agent = parseAgentRef(values.agent);
  const raw: Record<string, string | string[]> = {};
  for (const [flag, key] of Object.entries(RANGE_FLAGS)) {
    const given = values[flag];
    if (Array.isArray(given))
      raw[key] = given
        .flatMap((v) => v.split(","))
        .map((v) => v.trim())
        .filter(Boolean);
  }
  for (const [flag, key] of Object.entries(TEXT_FLAGS)) {
    const given = values[flag];
    if (typeof given === "string") raw[key] = given;
  }
  const parsed = ClusterExpectationsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`give at least one non-empty --expect-… flag\n${USAGE}`);
  return { agent, expectations: parsed.data, json: values.json === true };
}

export function parseAgentRef(text: string): AgentRef {
  const colon = text.lastIndexOf(":");
  if (colon < 0) {
    if (!/^\d+$/.test(text))
      throw new UsageError(`--agent ${text}: expected an id or project/path:agent-name`);
    return { kind: "id", id: Number(text) };
  }
  const projectPath = text.slice(0, colon).replace(/^\/+|\/+$/g, "");
  const agent = text.slice(colon + 1);
  if (projectPath === "" || agent === "") {
    throw new UsageError(`--agent ${text}: expected an id or project/path:agent-name`);
  }
  return /^\d+$/.test(agent)
    ? { kind: "id-in-project", projectPath, id: Number(agent) }
    : { kind: "in-project", projectPath, name: agent };
}
