import { parseArgs } from "node:util";
import type { StreamRole } from "@kasmap/contracts";

/**
 * The streams that form the audit log, and the alerts the projection raised from it (issue 11:
 * `io.kasmap.alert.*`). Heartbeats keep only the latest per collector: not history.
 */
export const AUDIT_STREAMS = [
  "registry",
  "authz",
  "cluster",
  "alerts",
] as const satisfies readonly StreamRole[];
export type AuditStream = (typeof AUDIT_STREAMS)[number];

export type ReplayCommand = {
  /** Start of the window: an ISO time (`opt_start_time`) or a stream sequence per stream. */
  start: { kind: "time"; since: string } | { kind: "sequence"; fromSeq: number };
  /** ISO time; events stored after it end the replay. */
  until: string | null;
  agentId: number | null;
  /** CloudEvent types (`io.kasmap.cluster.snapshot.v1`) or their short form (`cluster.snapshot`). */
  types: string[];
  streams: AuditStream[];
};

/** A command line the CLI cannot run; exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage: npm run audit:replay -- (--since <ISO time> | --from-seq <n>) [--until <ISO time>]
       [--agent <id>] [--types cluster.snapshot,authz.changed,alert.cluster_changed,…] [--streams registry,authz,cluster,alerts]
Prints the events of the audit log (NATS JetStream) as JSON lines, oldest first, then exits.
environment: NATS_URL, KASMAP_TOPOLOGY_ROOT, NATS_NKEY_SEED or NATS_NKEY_SEED_FILE (the projection's or gateway's user), NATS_TLS_CA_FILE`;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function isoTime(name: string, value: string): string {
  if (!ISO.test(value) || Number.isNaN(Date.parse(value)))
    throw new UsageError(`--${name}: not an ISO-8601 time`);
  return new Date(value).toISOString();
}

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--${name}: not a positive integer`);
  return n;
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Parses `argv` (without node and the script) or throws `UsageError`. */
export function parseReplayArgs(argv: readonly string[]): ReplayCommand {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        since: { type: "string" },
        "from-seq": { type: "string" },
        until: { type: "string" },
        agent: { type: "string" },
        types: { type: "string" },
        streams: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const since = values.since;
  const fromSeq = values["from-seq"];
  if ((since === undefined) === (fromSeq === undefined))
    throw new UsageError("give exactly one of --since and --from-seq");
  const streams = list(values.streams);
  const unknown = streams.filter((s) => !(AUDIT_STREAMS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`--streams: unknown ${unknown.join(", ")}`);
  return {
    start:
      since !== undefined
        ? { kind: "time", since: isoTime("since", since) }
        : { kind: "sequence", fromSeq: positiveInteger("from-seq", fromSeq ?? "") },
    until: values.until === undefined ? null : isoTime("until", values.until),
    agentId: values.agent === undefined ? null : positiveInteger("agent", values.agent),
    types: list(values.types),
    streams: streams.length > 0 ? (streams as AuditStream[]) : [...AUDIT_STREAMS],
  };
}

/** Whether an event type passes `--types` (empty = every type). */
export function typeSelected(types: readonly string[], eventType: string): boolean {
  return types.length === 0 || types.some((t) => t === eventType || `io.kasmap.${t}.v1` === eventType);
}
