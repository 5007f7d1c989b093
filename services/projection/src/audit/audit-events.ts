import {
  type AgentTokenKind,
  AUDIT_EVENT_TYPES,
  AUDITED_CLUSTER_FIELDS,
  type AuditEventType,
  type AuditedClusterField,
  type AuditedClusterValues,
  type AuditTargetType,
  type ClusterChangedDetails,
  type ClusterConflictDetails,
  type ClusterFacts,
  CONNECTED_WITHIN_MS,
  EVENT_TYPES,
  type EventDataOf,
  type KasmapEvent,
  type KasmapEventOf,
  rubyArrayInspect,
  sameCanonicalJson,
} from "@kasmap/contracts";
import { boundedClusterInfoDetails } from "./cluster-info-details.ts";

/**
 * What the read model held, before an event was applied, that decides which audit events the
 * event yields. Loaded by `loadAuditPreviousState` in the applying transaction.
 */
export type AuditPreviousState = {
  /** The agent as stored before the event; null when never projected (or already deleted). */
  agent: { name: string; projectId: number } | null;
  /** The project the audit events belong to (GitLab's entity), with its full path if projected. */
  entity: { id: number; path: string | null } | null;
  /** Token events: the stored status of that token; null when the token is new. */
  tokenStatus: "active" | "revoked" | null;
  /** Snapshot events: the agent's latest facts; null before its first snapshot. */
  snapshot: ClusterFacts | null;
  /** Heartbeat events: the last heartbeat's time (ISO-8601); null when it never connected. */
  lastHeartbeatAt: string | null;
  /**
   * Heartbeat events that could conflict (they name a `cluster_uid`, are no stop, and another
   * live collector of the agent reports a different one): the agent's collectors as stored, this
   * one's included when it beat before. Empty otherwise: no conflict event can come of them.
   */
  collectors: StoredCollector[];
};

/** A collector of the agent as `read_model.collector_connections` holds it (times ISO-8601). */
export type StoredCollector = {
  collector_id: string;
  pod_name: string | null;
  cluster_uid: string | null;
  connected_at: string;
  last_heartbeat_at: string;
  stopped_at: string | null;
};

export const NO_PREVIOUS_STATE: AuditPreviousState = {
  agent: null,
  entity: null,
  tokenStatus: null,
  snapshot: null,
  lastHeartbeatAt: null,
  collectors: [],
};

/** An audit event ready to insert (the writer adds the stream position). */
export type AuditEventDraft = {
  /** The CloudEvent id, suffixed when one event can yield several audit events. */
  event_id: string;
  event_type: AuditEventType;
  author_id: number | null;
  entity_id: number | null;
  entity_path: string | null;
  target_id: number;
  target_type: AuditTargetType;
  details: Record<string, unknown>;
  created_at: string;
  /** The agent the event is about; null for a refused creation (there is no agent). */
  agent_id: number | null;
};

/**
 * The audit events one Kasmap event yields, given the read model's state before it. Pure: the
 * same event and state always give the same drafts (and event ids), so applying it again onto
 * the same state (a rebuild replaying the streams in order) is absorbed by the unique `event_id`.
 * Applying it again onto a LATER state is not: it would be compared with what came after it and
 * could yield a draft the first application did not, under a new id. So callers audit only
 * events they have not applied before (a snapshot at or below its agent's latest applied stream
 * sequence was: `projectSnapshotBatch` skips it); heartbeats are guarded here, by time (one no
 * newer than the agent's last heartbeat yields no `connected`, one no newer than its collector's
 * stored heartbeat no conflict). Details never hold secrets, not even token digests.
 */
export function auditEventsFor(event: KasmapEvent, previous: AuditPreviousState): AuditEventDraft[] {
  switch (event.type) {
    case EVENT_TYPES.agentChanged:
      return agentEvents(event, previous);
    case EVENT_TYPES.agentTokenChanged:
      return tokenEvents(event, previous);
    case EVENT_TYPES.clusterSnapshot:
      return [...clusterInfoEvents(event, previous), ...clusterChangedEvents(event, previous)];
    case EVENT_TYPES.authzChanged:
      return authorizationEvents(event, previous);
    case EVENT_TYPES.clusterHeartbeat:
      return [...connectedEvents(event, previous), ...clusterConflictEvents(event, previous)];
    case EVENT_TYPES.agentChangeRefused:
      return refusalEvents(event, previous);
    default:
      return [];
  }
}

type DraftBase = Pick<AuditEventDraft, "event_id" | "created_at" | "entity_id" | "entity_path">;

function base(event: KasmapEvent, previous: AuditPreviousState, suffix?: string): DraftBase {
  return {
    event_id: suffix === undefined ? event.id : `${event.id}:${suffix}`,
    created_at: event.time,
    entity_id: previous.entity?.id ?? null,
    entity_path: previous.entity?.path ?? null,
  };
}

/**
 * A draft about the agent a collector's event names (snapshot, heartbeat): without an author,
 * as a collector is no GitLab user.
 */
function collectorEventDraft(
  event: KasmapEventOf<typeof EVENT_TYPES.clusterSnapshot | typeof EVENT_TYPES.clusterHeartbeat>,
  previous: AuditPreviousState,
  eventType: AuditEventType,
  details: Record<string, unknown>,
  suffix?: string,
): AuditEventDraft {
  return {
    ...base(event, previous, suffix),
    event_type: eventType,
    author_id: null,
    target_id: event.data.agent_id,
    target_type: "Clusters::Agent",
    agent_id: event.data.agent_id,
    details,
  };
}

/** Created: first sight of a live agent. Deleted: a stored agent arrives with `deleted_at`. */
function agentEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.agentChanged>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const { agent, actor_user_id } = event.data;
  const common = {
    ...base(event, previous),
    entity_id: agent.project_id,
    target_id: agent.id,
    target_type: "Clusters::Agent" as const,
    agent_id: agent.id,
  };
  const ip = ipAddressDetail(event.data);
  if (agent.deleted_at === null && previous.agent === null) {
    const details = { custom_message: agentMessage("Created", agent), agent_name: agent.name, ...ip };
    const author_id = actor_user_id ?? agent.created_by_user_id;
    return [{ ...common, event_type: AUDIT_EVENT_TYPES.agentCreated, author_id, details }];
  }
  if (agent.deleted_at !== null && previous.agent !== null) {
    const details = { custom_message: agentMessage("Deleted", agent), agent_name: agent.name, ...ip };
    return [{ ...common, event_type: AUDIT_EVENT_TYPES.agentDeleted, author_id: actor_user_id, details }];
  }
  return [];
}

/**
 * GitLab's `details.ip_address`: the acting user's client address, when the event carries it
 * (authz copies it from the gateway's command); nothing otherwise.
 */
function ipAddressDetail(data: { actor_ip_address?: string }): { ip_address?: string } {
  return data.actor_ip_address === undefined ? {} : { ip_address: data.actor_ip_address };
}

/**
 * GitLab's message for an agent created or deleted (gitlab-org/gitlab,
 * ee/app/services/ee/clusters/agents/create_service.rb and delete_service.rb).
 */
function agentMessage(verb: "Created" | "Deleted", agent: { id: number; name: string }): string {
  return `${verb} cluster agent '${agent.name}' with id ${agent.id}`;
}

/**
 * A refused creation or deletion, as GitLab audits a failed `Clusters::Agents::CreateService` or
 * `DeleteService` (gitlab-org/gitlab, ee/app/services/ee/clusters/agents/create_service.rb and
 * delete_service.rb): `cluster_agent_create_failed` targets the project (no agent exists),
 * `cluster_agent_delete_failed` the agent; the message quotes the name and the model's errors as
 * GitLab interpolates `full_messages` (a Ruby array's `inspect`).
 */
function refusalEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.agentChangeRefused>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const data = event.data;
  const verb = data.action === "create" ? "create" : "delete";
  const failure = rubyArrayInspect(data.messages);
  const details = {
    custom_message: `Attempted to ${verb} cluster agent '${data.agent_name}' but failed with message: ${failure}`,
    agent_name: data.agent_name,
    ...ipAddressDetail(data),
  };
  const target =
    data.agent_id === null
      ? { target_id: data.project_id, target_type: "Project" as const, agent_id: null }
      : { target_id: data.agent_id, target_type: "Clusters::Agent" as const, agent_id: data.agent_id };
  const eventType =
    data.action === "create" ? AUDIT_EVENT_TYPES.agentCreateFailed : AUDIT_EVENT_TYPES.agentDeleteFailed;
  return [
    {
      ...base(event, previous),
      entity_id: data.project_id,
      ...target,
      event_type: eventType,
      author_id: data.actor_user_id,
      details,
    },
  ];
}

/**
 * Created: first sight of a token id. Revoked: `active` → `revoked`, or first seen revoked.
 * Both may come from one event (a token created and revoked before the projection saw it), so
 * these ids always carry a suffix. Agent tokens take GitLab's names, target and message: the
 * agent is the target, the token is named in the message (gitlab-org/gitlab,
 * ee/app/services/ee/clusters/agent_tokens/create_service.rb and revoke_service.rb). Collector
 * tokens (issue 9 item 5, which GitLab does not have) keep Kasmap's own names and target the
 * token, so neither is mistaken for the other.
 */
function tokenEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.agentTokenChanged>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const { token, actor_user_id } = event.data;
  const audited = TOKEN_AUDIT[token.kind];
  const common =
    audited.targetType === "Clusters::Agent"
      ? { target_id: token.agent_id, target_type: audited.targetType, agent_id: token.agent_id }
      : { target_id: token.id, target_type: audited.targetType, agent_id: token.agent_id };
  const ip = ipAddressDetail(event.data);
  const details = (verb: string) => ({ ...audited.details(verb, token), token_name: token.name, ...ip });
  const drafts: AuditEventDraft[] = [];
  if (previous.tokenStatus === null) {
    drafts.push({
      ...base(event, previous, "created"),
      ...common,
      event_type: audited.created,
      author_id: actor_user_id ?? token.created_by_user_id,
      details: details("Created"),
    });
  }
  if (token.status === "revoked" && previous.tokenStatus !== "revoked") {
    drafts.push({
      ...base(event, previous, "revoked"),
      ...common,
      event_type: audited.revoked,
      author_id: actor_user_id,
      details: details("Revoked"),
    });
  }
  return drafts;
}

type AuditedToken = { id: number; name: string };

const TOKEN_AUDIT = {
  agent: {
    targetType: "Clusters::Agent",
    created: AUDIT_EVENT_TYPES.tokenCreated,
    revoked: AUDIT_EVENT_TYPES.tokenRevoked,
    details: (verb: string, token: AuditedToken) => ({
      custom_message: `${verb} cluster agent token '${token.name}' with id ${token.id}`,
      token_id: token.id,
    }),
  },
  collector: {
    targetType: "Kasmap::CollectorToken",
    created: AUDIT_EVENT_TYPES.collectorTokenCreated,
    revoked: AUDIT_EVENT_TYPES.collectorTokenRevoked,
    details: (verb: string) => ({ custom_message: `${verb} collector token` }),
  },
} as const satisfies Record<
  AgentTokenKind,
  {
    targetType: AuditTargetType;
    created: AuditEventType;
    revoked: AuditEventType;
    details: (verb: string, token: AuditedToken) => Record<string, unknown>;
  }
>;

function auditedValues(facts: ClusterFacts): AuditedClusterValues {
  const values: Partial<Record<AuditedClusterField, unknown>> = {};
  for (const field of AUDITED_CLUSTER_FIELDS) values[field] = facts[field];
  return values as AuditedClusterValues;
}

/**
 * One event when an infrastructure field changed against the agent's latest snapshot, with
 * the changed fields and the infrastructure fields before and after; the first snapshot is one
 * too, with `before: null`. A snapshot that moved only other facts (pod IP, node count) yields none.
 * `changed_fields` compares the full values; the details are bounded (`boundedClusterInfoDetails`).
 */
function clusterInfoEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.clusterSnapshot>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const after = auditedValues(event.data.cluster);
  const before = previous.snapshot === null ? null : auditedValues(previous.snapshot);
  const changed = AUDITED_CLUSTER_FIELDS.filter(
    (field) => before === null || !sameCanonicalJson(before[field], after[field]),
  );
  if (changed.length === 0) return [];
  const details = boundedClusterInfoDetails(changed, before, after, event.data.content_hash);
  return [collectorEventDraft(event, previous, AUDIT_EVENT_TYPES.clusterInfoChanged, details)];
}

/** What identifies the cluster an agent reports from, as `cluster_agent_cluster_changed` shows it. */
function clusterIdentity(facts: ClusterFacts) {
  return {
    cluster_uid: facts.cluster_uid ?? null,
    cluster_name: facts.cluster_name,
    api_endpoint: facts.api_endpoint,
  };
}

/**
 * One event when the agent's `cluster_uid` (the kube-system Namespace UID) differs from its
 * latest snapshot's: the agent's token is now used in another cluster, typically by a collector
 * started there. Both values must be known: a first snapshot, or one from a collector that does
 * not report the UID (older, or RBAC-forbidden), is no evidence of a move.
 */
function clusterChangedEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.clusterSnapshot>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const before = previous.snapshot?.cluster_uid;
  const after = event.data.cluster.cluster_uid;
  if (!before || !after || before === after || previous.snapshot === null) return [];
  const details: ClusterChangedDetails = {
    custom_message: "Cluster agent reports from a different cluster",
    collector: event.source,
    before: clusterIdentity(previous.snapshot),
    after: clusterIdentity(event.data.cluster),
    content_hash: event.data.content_hash,
  };
  return [collectorEventDraft(event, previous, AUDIT_EVENT_TYPES.clusterChanged, details, "cluster_changed")];
}

/**
 * One event when grants were added or removed, or the configuration was written (even without
 * an effective change: what it dropped is worth recording) or refused (`config_refused`, with
 * the refusal; the grants stayed). Re-resolutions that changed nothing (authz announces those
 * too) yield none. Dropped entries are bounded as in the event: the count and the first 100.
 */
function authorizationEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.authzChanged>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const data: EventDataOf<typeof EVENT_TYPES.authzChanged> = event.data;
  const written = data.cause === "config_changed" || data.cause === "config_refused";
  const changed = data.added.length > 0 || data.removed.length > 0 || written;
  if (!changed) return [];
  return [
    {
      ...base(event, previous),
      entity_id: data.config_project_id,
      event_type: AUDIT_EVENT_TYPES.authorizationChanged,
      author_id: data.actor_user_id,
      target_id: data.agent_id,
      target_type: "Clusters::Agent",
      agent_id: data.agent_id,
      details: {
        cause: data.cause,
        added: data.added,
        removed: data.removed,
        dropped_count: data.dropped_count,
        dropped: data.dropped,
        ...(data.refusal ? { refusal: data.refusal } : {}),
      },
    },
  ];
}

/** The first heartbeat ever, or the first after a silence longer than `CONNECTED_WITHIN_MS`. */
function connectedEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.clusterHeartbeat>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const last = previous.lastHeartbeatAt;
  const silenceMs = last === null ? null : Date.parse(event.data.sent_at) - Date.parse(last);
  if (silenceMs !== null && silenceMs <= CONNECTED_WITHIN_MS) return [];
  const details = { collector_id: event.data.collector_id, previous_heartbeat_at: last };
  return [collectorEventDraft(event, previous, AUDIT_EVENT_TYPES.connected, details)];
}

/** A collector's connection as `cluster_agent_cluster_conflict` names it. */
type ConflictSide = { collector_id: string; pod_name: string | null; cluster_uid: string };

/**
 * How long one `cluster_agent_cluster_conflict` stands for its agent, ms: at most one per agent,
 * window of this length on the agent's clock and count of clusters (`clusterConflictEvents`,
 * `CLUSTER_CONFLICT_CLUSTERS_NAMED`). Equal to
 * `CONNECTED_WITHIN_MS`, so a collector that went silent (longer than it) and came back always
 * falls in a later window than the conflict it was part of, and is reported again.
 */
export const CLUSTER_CONFLICT_WINDOW_MS = CONNECTED_WITHIN_MS;

/**
 * The most clusters a `cluster_agent_cluster_conflict` counts in its event id: the events of one
 * agent's window name the conflict's second, third and fourth cluster, and no more (one token in
 * more clusters at once than that is a leak, and the alerts already say so).
 */
export const CLUSTER_CONFLICT_CLUSTERS_NAMED = 4;

/**
 * At most one event per heartbeat, when it brings a cluster into a conflict: it reports a
 * `cluster_uid` that none of the agent's LIVE collectors (not stopped, last heartbeat within
 * `CONNECTED_WITHIN_MS` of this one) reported before it, while another live collector reports a
 * different one — one token used in two clusters at once. Both UIDs must be known. Heartbeats
 * that leave the set of live UIDs as it was (the conflict goes on) yield none; a collector that
 * stopped or went silent and came back brings its UID in again.
 *
 * Bounded per agent, as a collector's credentials let it invent a collector id and a UID for
 * every heartbeat (security review: 64 events and alerts a heartbeat before): the event id names
 * the agent, the `CLUSTER_CONFLICT_WINDOW_MS` window its clock is in and how many clusters the
 * conflict spans with this heartbeat's (its UID and the distinct known UIDs of the agent's other
 * live collectors), counted up to `CLUSTER_CONFLICT_CLUSTERS_NAMED`. So a window holds at most
 * one event per count from 2 to that bound (a later heartbeat of the same count is absorbed by
 * the unique `event_id`, its alert by the outbox's): a third and a fourth cluster joining a
 * conflict within its window are named, and invented clusters add at most two events to a
 * window. A window's first event already counts 3 or 4 when the conflict spans that many
 * clusters by then. The agent's clock is the later of this
 * heartbeat's `sent_at` and the agent's last heartbeat: `sent_at` is clamped to when the server
 * stored it but may lie in the past, and a backdated heartbeat must not reach a window of its
 * own. The clock only moves forward and never passes real time, so an agent gets at most three
 * events (and alerts) per window of real time, and the same stream gives the same events on
 * a rebuild. (Not the same as before the count was in the id: the first rebuild after that
 * change writes the `:3`/`:4` events of past windows, and alerts them once.) `collectors` holds
 * this heartbeat's collector and the live one in another cluster that beat last (ordered by id).
 * An older heartbeat than the stored one (a replay) yields none.
 */
function clusterConflictEvents(
  event: KasmapEventOf<typeof EVENT_TYPES.clusterHeartbeat>,
  previous: AuditPreviousState,
): AuditEventDraft[] {
  const { agent_id, collector_id, cluster_uid, sent_at, stopping } = event.data;
  if (!cluster_uid || stopping) return [];
  const sentAt = Date.parse(sent_at);
  const own = previous.collectors.find((c) => c.collector_id === collector_id);
  if (own && Date.parse(own.last_heartbeat_at) >= sentAt) return [];
  const live = previous.collectors.filter(
    (c) => c.stopped_at === null && sentAt - Date.parse(c.last_heartbeat_at) <= CONNECTED_WITHIN_MS,
  );
  if (live.some((c) => c.cluster_uid === cluster_uid)) return [];
  const other = lastHeardInAnotherCluster(live, collector_id, cluster_uid);
  if (!other) return [];
  const self: ConflictSide = { collector_id, pod_name: event.data.pod_name ?? null, cluster_uid };
  const details: ClusterConflictDetails = {
    custom_message: "Collectors of the cluster agent report from different clusters",
    collector: event.source,
    collectors: [self, other].sort((a, b) => (a.collector_id < b.collector_id ? -1 : 1)) as [
      ConflictSide,
      ConflictSide,
    ],
  };
  const window = clusterConflictWindow(sentAt, previous.lastHeartbeatAt);
  const clusters = Math.min(conflictClusters(live, collector_id), CLUSTER_CONFLICT_CLUSTERS_NAMED);
  // Two clusters keep the id they always had: a rebuild finds the two-cluster events it wrote before.
  const counted = clusters > 2 ? `:${clusters}` : "";
  return [
    {
      ...collectorEventDraft(event, previous, AUDIT_EVENT_TYPES.clusterConflict, details),
      event_id: `cluster_conflict:${agent_id}:${window}${counted}`,
    },
  ];
}

/**
 * How many clusters a heartbeat from a new cluster brings the conflict to: its own and each
 * distinct known `cluster_uid` of the other live collectors (none of which is its own).
 */
function conflictClusters(live: readonly StoredCollector[], collectorId: string): number {
  const others = new Set<string>();
  for (const c of live) if (c.collector_id !== collectorId && c.cluster_uid) others.add(c.cluster_uid);
  return others.size + 1;
}

/**
 * The live collector other than `collectorId`, in a known cluster other than `clusterUid`, that
 * beat last (then the least id).
 */
function lastHeardInAnotherCluster(
  live: readonly StoredCollector[],
  collectorId: string,
  clusterUid: string,
): ConflictSide | null {
  let last: StoredCollector | null = null;
  for (const c of live) {
    if (c.collector_id === collectorId || !c.cluster_uid || c.cluster_uid === clusterUid) continue;
    // ISO-8601 times of one format: their order is the strings'.
    if (
      last === null ||
      c.last_heartbeat_at > last.last_heartbeat_at ||
      (c.last_heartbeat_at === last.last_heartbeat_at && c.collector_id < last.collector_id)
    )
      last = c;
  }
  if (!last?.cluster_uid) return null;
  return { collector_id: last.collector_id, pod_name: last.pod_name, cluster_uid: last.cluster_uid };
}

/**
 * The start (ISO-8601) of the `CLUSTER_CONFLICT_WINDOW_MS` window the agent's clock is in: the
 * later of the heartbeat's `sentAt` (ms) and the agent's last heartbeat before it.
 */
function clusterConflictWindow(sentAt: number, lastHeartbeatAt: string | null): string {
  const clock = lastHeartbeatAt === null ? sentAt : Math.max(sentAt, Date.parse(lastHeartbeatAt));
  return new Date(clock - (clock % CLUSTER_CONFLICT_WINDOW_MS)).toISOString();
}

/** An agent whose heartbeats stopped, as the disconnection sweeper found it. */
export type SilentAgent = {
  agent_id: number;
  collector_id: string;
  /** The last heartbeat's `sent_at`, ISO-8601. */
  last_heartbeat_at: string;
  /** The agent's configuration project (GitLab's entity), with its full path if projected. */
  entity: { id: number; path: string | null };
};

/**
 * The `cluster_agent_disconnected` event of one silence. Its id names the agent and the last
 * heartbeat, so a retry or a second sweeper adds nothing; `created_at` is when the silence passed
 * `CONNECTED_WITHIN_MS` (when the agent turned `disconnected`), not when a sweep noticed it.
 */
export function disconnectedAuditEvent(agent: SilentAgent): AuditEventDraft {
  const last = agent.last_heartbeat_at;
  return {
    event_id: `disconnected:${agent.agent_id}:${last}`,
    event_type: AUDIT_EVENT_TYPES.disconnected,
    author_id: null,
    entity_id: agent.entity.id,
    entity_path: agent.entity.path,
    target_id: agent.agent_id,
    target_type: "Clusters::Agent",
    agent_id: agent.agent_id,
    details: { collector_id: agent.collector_id, last_heartbeat_at: last },
    created_at: new Date(Date.parse(last) + CONNECTED_WITHIN_MS).toISOString(),
  };
}
