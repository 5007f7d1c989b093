import {
  COLLECTOR_SUBJECT_TOKEN_PATTERN,
  COLLECTOR_SUBJECT_TOKENS,
  collectorSubjectToken,
} from "./collector-subject-token.ts";
import { type AlertType, EVENT_TYPES, type EventType } from "./events.ts";
import { GITLAB_INBOX_MAX_MESSAGE_BYTES, type GitLabInboxSource } from "./gitlab-inbox.ts";

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

export const STREAM_ROLES = [
  "cluster",
  "heartbeat",
  "authz",
  "registry",
  "deadLetter",
  "gitlabInbox",
  "alerts",
] as const;
export type StreamRole = (typeof STREAM_ROLES)[number];

/** Marks the aggregate-id token in an event binding's subject pattern. */
export const AGGREGATE_ID = "{id}";

/**
 * Where an event type may live: its stream and its subject, as the tokens after the root with
 * `AGGREGATE_ID` where the id goes (which must equal the id the event's data names).
 */
export type EventBinding = {
  readonly stream: StreamRole;
  readonly pattern: readonly [string, ...string[]];
  /**
   * The subject may end with one more token, the publishing collector's
   * `collectorSubjectToken(collector_id)` (heartbeats, issue 11: one retained per collector).
   */
  readonly collectorTail?: true;
};

const registryBinding = (kind: RegistryKind) =>
  ({ stream: "registry", pattern: ["registry", kind, AGGREGATE_ID, "changed"] }) as const;

/**
 * THE binding of every event type to its stream and subject (issue 7.1). A collector may
 * publish on its agent's `cluster.<id>.snapshot` and `cluster.<id>.heartbeat` subjects and
 * writes the whole body, so a consumer must never trust the `type` alone: an event is accepted
 * only on the subject its type is bound to, by the consumer of the stream its type is bound to.
 * The subject builders below are derived from this table, so publishers cannot disagree with it.
 */
export const EVENT_BINDINGS = {
  [EVENT_TYPES.clusterSnapshot]: { stream: "cluster", pattern: ["cluster", AGGREGATE_ID, "snapshot"] },
  [EVENT_TYPES.clusterHeartbeat]: {
    stream: "heartbeat",
    pattern: ["cluster", AGGREGATE_ID, "heartbeat"],
    collectorTail: true,
  },
  [EVENT_TYPES.authzChanged]: { stream: "authz", pattern: ["authz", AGGREGATE_ID, "changed"] },
  [EVENT_TYPES.groupChanged]: registryBinding("group"),
  [EVENT_TYPES.projectChanged]: registryBinding("project"),
  [EVENT_TYPES.userChanged]: registryBinding("user"),
  [EVENT_TYPES.membershipChanged]: registryBinding("membership"),
  [EVENT_TYPES.personalAccessTokenChanged]: registryBinding("personal_access_token"),
  [EVENT_TYPES.agentChanged]: registryBinding("agent"),
  [EVENT_TYPES.agentTokenChanged]: registryBinding("agent_token"),
  [EVENT_TYPES.jobChanged]: registryBinding("job"),
  [EVENT_TYPES.agentChangeRefused]: {
    stream: "registry",
    pattern: ["registry", "project", AGGREGATE_ID, "agent_refused"],
  },
  [EVENT_TYPES.alertClusterChanged]: {
    stream: "alerts",
    pattern: ["alerts", AGGREGATE_ID, "cluster_changed"],
  },
  [EVENT_TYPES.alertClusterConflict]: {
    stream: "alerts",
    pattern: ["alerts", AGGREGATE_ID, "cluster_conflict"],
  },
} as const satisfies Record<EventType, EventBinding>;

/** The registry event type of each registry kind (`registry.<kind>.<id>.changed`). */
export const REGISTRY_EVENT_TYPES = {
  group: EVENT_TYPES.groupChanged,
  project: EVENT_TYPES.projectChanged,
  user: EVENT_TYPES.userChanged,
  membership: EVENT_TYPES.membershipChanged,
  personal_access_token: EVENT_TYPES.personalAccessTokenChanged,
  agent: EVENT_TYPES.agentChanged,
  agent_token: EVENT_TYPES.agentTokenChanged,
  job: EVENT_TYPES.jobChanged,
} as const satisfies Record<RegistryKind, EventType>;

/** The field of each registry event's `data` that carries the entity (the rest is `actor_user_id`). */
export const REGISTRY_ENTITY_FIELDS = {
  group: "group",
  project: "project",
  user: "user",
  membership: "membership",
  personal_access_token: "token",
  agent: "agent",
  agent_token: "token",
  job: "job",
} as const satisfies Record<RegistryKind, string>;

/** `<root>.<pattern with the id>`: the one subject an event of `type` about aggregate `id` may use. */
export function boundSubject(root: string, type: EventType, id: number): string {
  const tokens = EVENT_BINDINGS[type].pattern.map((token) => (token === AGGREGATE_ID ? idToken(id) : token));
  return [root, ...tokens].join(".");
}

/**
 * The aggregate id `natsSubject` names for an event of `type`, or why the subject is not the
 * one `type` is bound to (under `root`).
 */
export function boundSubjectId(
  root: string,
  type: EventType,
  natsSubject: string,
): { ok: true; id: number; collectorToken: string | null } | { ok: false; reason: string } {
  const binding: EventBinding = EVENT_BINDINGS[type];
  const pattern = binding.pattern;
  const all = natsSubject.split(".");
  const withTail = binding.collectorTail === true && all.length === pattern.length + 2;
  const length = withTail ? all.length - 1 : all.length;
  const collectorToken = withTail ? (all[all.length - 1] ?? "") : null;
  if (length !== pattern.length + 1 || all[0] !== root) return misplacedSubject(root, type, natsSubject);
  if (collectorToken !== null && !COLLECTOR_SUBJECT_TOKEN_PATTERN.test(collectorToken))
    return misplacedSubject(root, type, natsSubject);
  let id: number | null = null;
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    const actual = all[i + 1] ?? "";
    if (token !== AGGREGATE_ID) {
      if (actual !== token) return misplacedSubject(root, type, natsSubject);
      continue;
    }
    const parsed = /^[1-9][0-9]{0,15}$/.test(actual) ? Number(actual) : Number.NaN;
    if (!Number.isSafeInteger(parsed))
      return { ok: false, reason: `subject ${natsSubject} names no aggregate id` };
    id = parsed;
  }
  return id === null
    ? { ok: false, reason: `subject ${natsSubject} names no aggregate id` }
    : { ok: true, id, collectorToken };
}

/**
 * Why `natsSubject` is not where `type` belongs. Every message read is checked by
 * `boundSubjectId`: the expected form is only spelled out for a refusal.
 */
function misplacedSubject(root: string, type: EventType, natsSubject: string): { ok: false; reason: string } {
  const binding: EventBinding = EVENT_BINDINGS[type];
  const expected = `${[root, ...binding.pattern].join(".")}${binding.collectorTail ? "[.<collector>]" : ""}`;
  return { ok: false, reason: `type ${type} belongs on ${expected}, not on ${natsSubject}` };
}

const DAY_NS = 24 * 60 * 60 * 1_000_000_000;
const TWO_MINUTES_NS = 2 * 60 * 1_000_000_000;
/**
 * How long GitLab's deliveries stay in the inbox: the sync service applies them within seconds;
 * a week covers a sync outage over a long weekend (the reconcile repairs anything older anyway).
 */
const GITLAB_INBOX_MAX_AGE_NS = 7 * DAY_NS;
/** GitLab resends a delivery with the same `Idempotency-Key` (a manual or automatic retry). */
const ONE_HOUR_NS = 60 * 60 * 1_000_000_000;
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;
export const DEFAULT_TOPOLOGY_ROOT = "kasmap";

/**
 * How many servers of a JetStream cluster hold each stream (`num_replicas`). 1 on a single
 * server; 3 on a 3-node cluster, so a stream keeps a quorum (2 of 3) and loses nothing when one
 * server dies; 5 survives two. Odd counts only: an even one adds a copy but tolerates no more
 * failures. JetStream allows at most 5.
 */
export const STREAM_REPLICA_COUNTS = [1, 3, 5] as const;
export type StreamReplicas = (typeof STREAM_REPLICA_COUNTS)[number];
export const DEFAULT_STREAM_REPLICAS: StreamReplicas = 1;

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
  /** Largest message the stream stores, in bytes (`max_msg_size`); the server refuses larger publishes. */
  readonly maxMsgBytes: number;
  /** Servers holding a copy (`num_replicas`); consumers inherit it. */
  readonly replicas: StreamReplicas;
  /**
   * Most bytes the stream stores (`max_bytes`); -1 = no limit. Only a latest-per-subject stream
   * has one: there the oldest messages go first (`discard: old`), while an audit stream must never
   * drop history to make room.
   */
  readonly maxBytes: number;
};

/**
 * Largest event an audit stream stores (bytes): NATS' default `max_payload`, 1 MiB. A cluster
 * snapshot is applied only up to the projection's smaller snapshot limit
 * (`KASMAP_PROJECTION_SNAPSHOT_MAX_BYTES`, 512 KiB by default).
 */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** Largest heartbeat stored (bytes); a heartbeat is about 400 bytes. */
export const MAX_HEARTBEAT_BYTES = 4 * 1024;
/**
 * Most bytes the heartbeat stream stores (issue 11): it keeps one message per subject, and an
 * agent's collectors have 17 (`….heartbeat` and `….heartbeat.0` … `.f`, all their NATS
 * permission allows), so one agent holds at most 17 × 4 KiB whatever it publishes. 256 MiB holds
 * the latest heartbeats of ~15,000 agents each filling all 17 with the largest heartbeat (~650,000
 * subjects of ~400-byte ones); past it the oldest go first (collectors silent the longest).
 * Permissions rendered before the 16 subjects allowed `….heartbeat.*`: one subject per invented
 * collector id, so one agent's credentials could fill this in seconds.
 */
export const HEARTBEAT_STREAM_MAX_BYTES = 256 * 1024 * 1024;
/**
 * Largest dead letter stored (bytes): a dead letter is a bounded record (`DeadLetterRecordSchema`,
 * at most about 30 KiB with a reason of multi-byte characters, 47 KiB for a summary listing
 * `DEAD_LETTER_MORE_SEQS` sequences), never a copy of the message.
 */
export const MAX_DEAD_LETTER_BYTES = 64 * 1024;

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
  streamReplicas: StreamReplicas = DEFAULT_STREAM_REPLICAS,
) {
  if (!ROOT_PATTERN.test(root)) throw new RangeError(`topology root must match ${ROOT_PATTERN}, got ${root}`);
  if (!STREAM_REPLICA_COUNTS.includes(streamReplicas)) {
    throw new RangeError(
      `stream replicas must be one of ${STREAM_REPLICA_COUNTS.join(", ")}, got ${streamReplicas}`,
    );
  }
  const upper = root.toUpperCase();
  const streamNames: Record<StreamRole, string> = {
    cluster: `${upper}_CLUSTER`,
    heartbeat: `${upper}_HEARTBEAT`,
    authz: `${upper}_AUTHZ`,
    registry: `${upper}_REGISTRY`,
    deadLetter: `${upper}_DLQ`,
    gitlabInbox: `${upper}_GITLAB_INBOX`,
    alerts: `${upper}_ALERTS`,
  };
  const wildcards = {
    clusterSnapshots: `${root}.cluster.*.snapshot`,
    clusterHeartbeats: `${root}.cluster.*.heartbeat`,
    clusterCollectorHeartbeats: `${root}.cluster.*.heartbeat.*`,
    authz: `${root}.authz.>`,
    registry: `${root}.registry.>`,
    deadLetters: `${root}.dlq.>`,
    authzCommands: `${root}.cmd.authz.>`,
    gitlabInbox: `${root}.gitlab.inbox.>`,
    alerts: `${root}.alerts.>`,
    syncCommands: `${root}.cmd.sync.>`,
    readModelChanged: `${root}.readmodel.changed.>`,
    live: `${root}.>`,
  };
  const audit = auditRetentionDays * DAY_NS;
  const declarations: Array<Omit<StreamDeclaration, "replicas">> = [
    {
      role: "cluster",
      name: streamNames.cluster,
      subjects: [wildcards.clusterSnapshots],
      description: "Cluster snapshots per agent: the audit log of infrastructure changes",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
      maxMsgBytes: MAX_EVENT_BYTES,
      maxBytes: -1,
    },
    {
      role: "heartbeat",
      name: streamNames.heartbeat,
      subjects: [wildcards.clusterHeartbeats, wildcards.clusterCollectorHeartbeats],
      description: "Collector heartbeats, only the latest per collector (per agent before issue 11)",
      latestPerSubject: true,
      // The audit log's horizon: a rebuild then sees a collector's last heartbeat exactly as
      // long as its agent's snapshots (an agent silent longer has neither).
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
      maxMsgBytes: MAX_HEARTBEAT_BYTES,
      maxBytes: HEARTBEAT_STREAM_MAX_BYTES,
    },
    {
      role: "authz",
      name: streamNames.authz,
      subjects: [wildcards.authz],
      description: "Authorization changes per agent: the audit log of who may use which agent",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
      maxMsgBytes: MAX_EVENT_BYTES,
      maxBytes: -1,
    },
    {
      role: "registry",
      name: streamNames.registry,
      subjects: [wildcards.registry],
      description: "Registry changes: groups, projects, users, agents, tokens (digests only)",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
      maxMsgBytes: MAX_EVENT_BYTES,
      maxBytes: -1,
    },
    {
      role: "deadLetter",
      name: streamNames.deadLetter,
      subjects: [wildcards.deadLetters],
      description: "Messages that failed validation, with the reason in headers",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
      maxMsgBytes: MAX_DEAD_LETTER_BYTES,
      maxBytes: -1,
    },
    {
      role: "gitlabInbox",
      name: streamNames.gitlabInbox,
      subjects: [wildcards.gitlabInbox],
      description: "GitLab mode: system hooks, webhooks and audit events as delivered, for the sync service",
      latestPerSubject: false,
      maxAgeNs: GITLAB_INBOX_MAX_AGE_NS,
      duplicateWindowNs: ONE_HOUR_NS,
      maxMsgBytes: GITLAB_INBOX_MAX_MESSAGE_BYTES,
      maxBytes: -1,
    },
    {
      role: "alerts",
      name: streamNames.alerts,
      subjects: [wildcards.alerts],
      description:
        "Alerts the projection raises with their audit events (cluster identity), each with a severity",
      latestPerSubject: false,
      maxAgeNs: audit,
      duplicateWindowNs: TWO_MINUTES_NS,
      maxMsgBytes: MAX_EVENT_BYTES,
      maxBytes: -1,
    },
  ];
  const streams: StreamDeclaration[] = declarations.map((d) => ({ ...d, replicas: streamReplicas }));

  return {
    root,
    streams,
    streamNames,
    wildcards,
    subjects: {
      /** `<root>.cluster.<agentId>.snapshot`: derived cluster facts. */
      clusterSnapshot: (agentId: number) => boundSubject(root, EVENT_TYPES.clusterSnapshot, agentId),
      /** `<root>.cluster.<agentId>.heartbeat`: collector liveness (collectors before issue 11). */
      clusterHeartbeat: (agentId: number) => boundSubject(root, EVENT_TYPES.clusterHeartbeat, agentId),
      /**
       * `<root>.cluster.<agentId>.heartbeat.<collectorSubjectToken(collectorId)>`: one collector's
       * liveness, so the stream keeps the latest heartbeat of every replica of the agent.
       */
      clusterCollectorHeartbeat: (agentId: number, collectorId: string) =>
        `${boundSubject(root, EVENT_TYPES.clusterHeartbeat, agentId)}.${collectorSubjectToken(collectorId)}`,
      /** `<root>.cluster.<agentId>.heartbeat.*`: every collector heartbeat subject of one agent. */
      clusterCollectorHeartbeats: (agentId: number) =>
        `${boundSubject(root, EVENT_TYPES.clusterHeartbeat, agentId)}.*`,
      /**
       * `<root>.cluster.<agentId>.heartbeat.0` … `.f`: the 16 subjects a collector of the agent
       * publishes its heartbeats on (`collectorSubjectToken`), which its NATS permission lists.
       */
      clusterCollectorHeartbeatSubjects: (agentId: number) =>
        COLLECTOR_SUBJECT_TOKENS.map(
          (token) => `${boundSubject(root, EVENT_TYPES.clusterHeartbeat, agentId)}.${token}`,
        ),
      /** `<root>.authz.<agentId>.changed`: the agent's whole grant set. */
      authzChanged: (agentId: number) => boundSubject(root, EVENT_TYPES.authzChanged, agentId),
      /** `<root>.registry.<kind>.<id>.changed`: one registry aggregate's new state. */
      registryChanged: (kind: RegistryKind, id: number) => boundSubject(root, REGISTRY_EVENT_TYPES[kind], id),
      /** `<root>.registry.project.<projectId>.agent_refused`: a refused agent creation or deletion. */
      agentChangeRefused: (projectId: number) =>
        boundSubject(root, EVENT_TYPES.agentChangeRefused, projectId),
      /** `<root>.alerts.<agentId>.<alert>`, e.g. `….cluster_changed`: an alert about the agent (projection). */
      alert: (type: AlertType, agentId: number) => boundSubject(root, type, agentId),
      /** `<root>.dlq.<streamName>`: a dead letter from that stream's consumer. */
      deadLetter: (streamName: string) => `${root}.dlq.${streamName}`,
      /** `<root>.cmd.authz.<command>`: request/reply command to the authz service (core NATS). */
      authzCommand: (command: string) => `${root}.cmd.authz.${command}`,
      /**
       * `<root>.cmd.authz.<command>.<sender>`: the same command sent from a sender the subject
       * names (a collector's NATS user public key, which its permission alone allows it to
       * publish), so authz can give each sender its own share of the command's lane.
       */
      authzCommandFromSender: (command: string, sender: string) => `${root}.cmd.authz.${command}.${sender}`,
      /** `<root>.gitlab.inbox.<source>`: one GitLab delivery (`GitLabInboxMessage`), stored by the gateway. */
      gitlabInbox: (source: GitLabInboxSource) => `${root}.gitlab.inbox.${source}`,
      /** `<root>.cmd.sync.<command>`: request/reply to the GitLab sync service (core NATS). */
      syncCommand: (command: string) => `${root}.cmd.sync.${command}`,
      /** `<root>.readmodel.changed.<table>`: core-NATS notice published after a projection commit. */
      readModelChanged: (table: string) => `${root}.readmodel.changed.${table}`,
      /**
       * `<root>.gateway.live_tickets.redeem`: core-NATS request from a gateway replica that does
       * not hold a live-stream ticket to the others; the one holding it answers, once.
       */
      liveTicketRedeem: `${root}.gateway.live_tickets.redeem`,
    },
  };
}
