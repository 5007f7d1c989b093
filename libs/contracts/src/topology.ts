/**
 * Every NATS subject and JetStream stream Kasmap uses is built here; no other module
 * concatenates subjects or names streams.
 *
 * A topology has a root token (default `kasmap`). Production uses the default; each
 * integration test file makes its own root so files never share subjects or streams on one
 * server (JetStream forbids two streams with overlapping subjects).
 */

export const REGISTRY_KINDS = [
  "group",
  "project",
  "user",
  "membership",
  "personal_access_token",
  "agent",
  "agent_token",
  "job",
] as const;
export type RegistryKind = (typeof REGISTRY_KINDS)[number];

export const STREAM_ROLES = ["cluster", "heartbeat", "authz", "registry", "deadLetter"] as const;
export type StreamRole = (typeof STREAM_ROLES)[number];

const DAY_NS = 24 * 60 * 60 * 1_000_000_000;
const TWO_MINUTES_NS = 2 * 60 * 1_000_000_000;
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;
export const DEFAULT_TOPOLOGY_ROOT = "kasmap";

export type StreamDeclaration = {
  readonly role: StreamRole;
  readonly name: string;
  readonly subjects: readonly string[];
  readonly description: string;
  /** Keep only the newest message per subject (heartbeats). */
  readonly latestPerSubject: boolean;
  /** Max age in nanoseconds; 0 = keep forever. */
  readonly maxAgeNs: number;
  /** Window in nanoseconds in which a repeated `Nats-Msg-Id` is dropped by the server. */
  readonly duplicateWindowNs: number;
};

function idToken(id: number): string {
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new RangeError(`subject id must be a positive integer, got ${id}`);
  }
  return String(id);
}

const ROOT_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export type Topology = ReturnType<typeof createTopology>;

export function createTopology(
  root: string = DEFAULT_TOPOLOGY_ROOT,
  auditRetentionDays: number = DEFAULT_AUDIT_RETENTION_DAYS,
) {
  if (!ROOT_PATTERN.test(root)) throw new RangeError(`topology root must match ${ROOT_PATTERN}, got ${root}`);
  const upper = root.toUpperCase();
  const streamNames: Record<StreamRole, string> = {
    cluster: `${upper}_CLUSTER`,
    heartbeat: `${upper}_HEARTBEAT`,
    authz: `${upper}_AUTHZ`,
    registry: `${upper}_REGISTRY`,
    deadLetter: `${upper}_DLQ`,
  };
  const wildcards = {
    clusterSnapshots: `${root}.cluster.*.snapshot`,
    clusterHeartbeats: `${root}.cluster.*.heartbeat`,
    authz: `${root}.authz.>`,
    registry: `${root}.registry.>`,
    deadLetters: `${root}.dlq.>`,
    authzCommands: `${root}.cmd.authz.>`,
    readModelChanged: `${root}.readmodel.changed.>`,
    live: `${root}.>`,
  };
  const audit = auditRetentionDays * DAY_NS;
  const streams: StreamDeclaration[] = [
    {
      role: "cluster",
      name: streamNames.cluster,
      subjects: [wildcards.clusterSnapshots],
      description: "Cluster snapshots per agent: the audit log of infrastructure changes",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
    },
    {
      role: "heartbeat",
      name: streamNames.heartbeat,
      subjects: [wildcards.clusterHeartbeats],
      description: "Collector heartbeats, only the latest per agent",
      latestPerSubject: true,
      maxAgeNs: 0,
      duplicateWindowNs: TWO_MINUTES_NS,
    },
    {
      role: "authz",
      name: streamNames.authz,
      subjects: [wildcards.authz],
      description: "Authorization changes per agent: the audit log of who may use which agent",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
    },
    {
      role: "registry",
      name: streamNames.registry,
      subjects: [wildcards.registry],
      description: "Registry changes: groups, projects, users, agents, tokens (digests only)",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
    },
    {
      role: "deadLetter",
      name: streamNames.deadLetter,
      subjects: [wildcards.deadLetters],
      description: "Messages that failed validation, with the reason in headers",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
    },
  ];

  return {
    root,
    streams,
    streamNames,
    wildcards,
    subjects: {
      /** `<root>.cluster.<agentId>.snapshot`: derived cluster facts. */
      clusterSnapshot: (agentId: number) => `${root}.cluster.${idToken(agentId)}.snapshot`,
      /** `<root>.cluster.<agentId>.heartbeat`: collector liveness. */
      clusterHeartbeat: (agentId: number) => `${root}.cluster.${idToken(agentId)}.heartbeat`,
      /** `<root>.authz.<agentId>.changed`: the agent's whole grant set. */
      authzChanged: (agentId: number) => `${root}.authz.${idToken(agentId)}.changed`,
      /** `<root>.registry.<kind>.<id>.changed`: one registry aggregate's new state. */
      registryChanged: (kind: RegistryKind, id: number) => `${root}.registry.${kind}.${idToken(id)}.changed`,
      /** `<root>.dlq.<streamName>`: a dead letter from that stream's consumer. */
      deadLetter: (streamName: string) => `${root}.dlq.${streamName}`,
      /** `<root>.cmd.authz.<command>`: request/reply command to the authz service (core NATS). */
      authzCommand: (command: string) => `${root}.cmd.authz.${command}`,
      /** `<root>.readmodel.changed.<table>`: core-NATS notice published after a projection commit. */
      readModelChanged: (table: string) => `${root}.readmodel.changed.${table}`,
    },
  };
}

/** Reads the agent id out of a `<root>.cluster.<id>.*` or `<root>.authz.<id>.*` subject. */
export function agentIdFromSubject(subject: string): number | null {
  const parts = subject.split(".");
  if (parts.length < 4 || (parts[1] !== "cluster" && parts[1] !== "authz")) return null;
  const id = Number(parts[2]);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}
