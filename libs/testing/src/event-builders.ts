import { createHash } from "node:crypto";
import {
  type AlertType,
  type ClusterFacts,
  EVENT_TYPES,
  type EventDataOf,
  type EventType,
  type KasmapEvent,
  newAlertEvent,
  newKasmapEvent,
  type Topology,
} from "@kasmap/contracts";
import { buildClusterFacts } from "./cluster-facts.ts";

/** Builders of valid events for tests and benches, on one test topology's subjects. */

const SOURCE = "/kasmap/test";
const T0 = "2026-01-01T00:00:00.000Z";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function testEvents(topology: Topology) {
  const registry = topology.subjects.registryChanged;
  /** An alert of the agent, with an id derived from `idPrefix` and the agent. */
  const alert = <T extends AlertType>(type: T, agentId: number, idPrefix: string, data: EventDataOf<T>) =>
    newAlertEvent({
      type,
      source: SOURCE,
      subject: topology.subjects.alert(type, agentId),
      id: sha256(`${idPrefix}-${agentId}`),
      time: new Date(T0),
      data,
    });
  return {
    group: (id: number, name = `group-${id}`) =>
      newKasmapEvent({
        type: EVENT_TYPES.groupChanged,
        source: SOURCE,
        subject: registry("group", id),
        data: {
          group: {
            id,
            kind: "group",
            owner_id: null,
            name,
            path: `group-${id}`,
            description: null,
            parent_id: null,
            traversal_ids: [id],
            full_path: `group-${id}`,
            full_name: name,
            created_at: T0,
          },
          actor_user_id: null,
        },
      }),
    project: (id: number, groupId: number) =>
      newKasmapEvent({
        type: EVENT_TYPES.projectChanged,
        source: SOURCE,
        subject: registry("project", id),
        data: {
          project: {
            id,
            name: `project-${id}`,
            path: `project-${id}`,
            description: "d",
            namespace_id: groupId,
            traversal_ids: [groupId],
            path_with_namespace: `group-${groupId}/project-${id}`,
            name_with_namespace: `group-${groupId} / project-${id}`,
            creator_id: 1,
            created_at: T0,
          },
          actor_user_id: 1,
        },
      }),
    user: (id: number) =>
      newKasmapEvent({
        type: EVENT_TYPES.userChanged,
        source: SOURCE,
        subject: registry("user", id),
        data: {
          user: {
            id,
            username: `user${id}`,
            name: `User ${id}`,
            is_admin: false,
            state: "active",
            created_at: T0,
          },
          actor_user_id: null,
        },
      }),
    membership: (data: EventDataOf<typeof EVENT_TYPES.membershipChanged>["membership"]) =>
      newKasmapEvent({
        type: EVENT_TYPES.membershipChanged,
        source: SOURCE,
        subject: registry("membership", data.id),
        data: { membership: data, actor_user_id: null },
      }),
    personalAccessToken: (id: number, userId: number, expiresAt: string | null = "2027-01-31") =>
      newKasmapEvent({
        type: EVENT_TYPES.personalAccessTokenChanged,
        source: SOURCE,
        subject: registry("personal_access_token", id),
        data: {
          token: {
            id,
            user_id: userId,
            name: "ci",
            token_sha256: sha256(`pat-${id}`),
            scopes: ["api", "read_api"],
            revoked: false,
            expires_at: expiresAt,
            created_at: T0,
          },
          actor_user_id: userId,
        },
      }),
    agent: (id: number, projectId: number, deletedAt: string | null = null) =>
      newKasmapEvent({
        type: EVENT_TYPES.agentChanged,
        source: SOURCE,
        subject: registry("agent", id),
        data: {
          agent: {
            id,
            name: `agent-${id}`,
            project_id: projectId,
            created_at: T0,
            created_by_user_id: 1,
            deleted_at: deletedAt,
          },
          actor_user_id: 1,
        },
      }),
    /** A refused creation of an agent named `-bad` in project `projectId`, by user 1. */
    agentChangeRefused: (projectId: number) =>
      newKasmapEvent({
        type: EVENT_TYPES.agentChangeRefused,
        source: SOURCE,
        subject: topology.subjects.agentChangeRefused(projectId),
        data: {
          action: "create",
          project_id: projectId,
          agent_id: null,
          agent_name: "-bad",
          messages: [
            "Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'",
          ],
          actor_user_id: 1,
        },
      }),
    agentToken: (id: number, agentId: number) =>
      newKasmapEvent({
        type: EVENT_TYPES.agentTokenChanged,
        source: SOURCE,
        subject: registry("agent_token", id),
        data: {
          token: {
            id,
            agent_id: agentId,
            kind: "agent",
            name: "token",
            description: null,
            status: "active",
            token_sha256: sha256(`agent-token-${id}`),
            created_at: T0,
            created_by_user_id: 1,
            last_used_at: null,
          },
          actor_user_id: 1,
        },
      }),
    job: (id: number, projectId: number) =>
      newKasmapEvent({
        type: EVENT_TYPES.jobChanged,
        source: SOURCE,
        subject: registry("job", id),
        data: {
          job: {
            id,
            project_id: projectId,
            pipeline_id: 1,
            user_id: 1,
            ref: "main",
            ref_protected: true,
            environment: id % 2 === 0 ? { name: "production", tier: "production", slug: "production" } : null,
            status: "running",
            token_sha256: sha256(`job-${id}`),
            created_at: T0,
          },
          actor_user_id: null,
        },
      }),
    authz: (
      agentId: number,
      configProjectId: number,
      grants: EventDataOf<typeof EVENT_TYPES.authzChanged>["grants"],
    ) =>
      newKasmapEvent({
        type: EVENT_TYPES.authzChanged,
        source: SOURCE,
        subject: topology.subjects.authzChanged(agentId),
        data: {
          agent_id: agentId,
          config_project_id: configProjectId,
          cause: "config_changed",
          grants,
          added: [],
          removed: [],
          dropped: [
            { access: "ci_access", target_type: "project", path: "nope/missing", reason: "not-found" },
          ],
          dropped_count: 1,
          actor_user_id: null,
        },
      }),
    snapshot: (agentId: number, facts: ClusterFacts) =>
      newKasmapEvent({
        type: EVENT_TYPES.clusterSnapshot,
        source: SOURCE,
        subject: topology.subjects.clusterSnapshot(agentId),
        data: {
          agent_id: agentId,
          content_hash: sha256(JSON.stringify({ ...facts, observed_at: null })),
          cluster: facts,
        },
      }),
    /**
     * A heartbeat on the agent's subject of collectors before issue 11, whatever `collectorId`.
     * The stream keeps only the latest message per subject: two heartbeats built here for one
     * agent replace each other (a consumer may never see the first). For several collectors of
     * one agent, publish on each collector's subject (`clusterCollectorHeartbeat`).
     */
    heartbeat: (agentId: number, sentAt: string, collectorId = "collector-1") =>
      newKasmapEvent({
        type: EVENT_TYPES.clusterHeartbeat,
        source: SOURCE,
        subject: topology.subjects.clusterHeartbeat(agentId),
        data: { agent_id: agentId, collector_id: collectorId, content_hash: null, sent_at: sentAt },
      }),
    clusterChangedAlert: (agentId: number, projectId: number | null = 11) =>
      alert(EVENT_TYPES.alertClusterChanged, agentId, "cluster-changed", {
        agent_id: agentId,
        audit_event_id: `snapshot-${agentId}:cluster_changed`,
        entity_id: projectId,
        entity_path: null,
        details: {
          custom_message: "Cluster agent reports from a different cluster",
          collector: SOURCE,
          before: { cluster_uid: "uid-before", cluster_name: "before", api_endpoint: null },
          after: { cluster_uid: "uid-after", cluster_name: "after", api_endpoint: null },
          content_hash: sha256("after"),
        },
      }),
    clusterConflictAlert: (agentId: number, projectId: number | null = 11) =>
      alert(EVENT_TYPES.alertClusterConflict, agentId, "cluster-conflict", {
        agent_id: agentId,
        audit_event_id: `cluster_conflict:${agentId}`,
        entity_id: projectId,
        entity_path: null,
        details: {
          custom_message: "Two collectors of the cluster agent report different clusters",
          collector: SOURCE,
          collectors: [
            { collector_id: "collector-1", pod_name: null, cluster_uid: "uid-a" },
            { collector_id: "collector-2", pod_name: null, cluster_uid: "uid-b" },
          ],
        },
      }),
  };
}

/**
 * The subject token of collectors from before the 16 heartbeat subjects: the first 32 hex digits
 * of the SHA-256 of the collector id, one subject per collector (still accepted by the projection).
 */
export function legacyCollectorSubjectToken(collectorId: string): string {
  return sha256(collectorId).slice(0, 32);
}

/**
 * A heartbeat of replica `pod` of the agent, on that replica's own subject (issue 11): one of
 * the agent's 16 (`collectorSubjectToken`), which replicas may share. `distinctSubject`: on the
 * 32-digit subject of collectors from before the 16 (still accepted), one per pod, for tests
 * that publish many collectors' heartbeats before the projection reads them (the stream keeps
 * only the latest message per subject).
 */
export function replicaHeartbeat(
  topology: Topology,
  agentId: number,
  pod: string,
  sentAt: string,
  more: { stopping?: boolean; ip?: string; clusterUid?: string; distinctSubject?: boolean } = {},
) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: `/kasmap/collector/${pod}`,
    subject: more.distinctSubject
      ? `${topology.subjects.clusterHeartbeat(agentId)}.${legacyCollectorSubjectToken(pod)}`
      : topology.subjects.clusterCollectorHeartbeat(agentId, pod),
    data: {
      agent_id: agentId,
      collector_id: pod,
      content_hash: null,
      sent_at: sentAt,
      pod_name: pod,
      pod_ip: more.ip ?? "10.244.0.9",
      namespace: "gitlab-agent",
      node: "node-1",
      version: "0.1.0",
      commit: null,
      ...(more.clusterUid ? { cluster_uid: more.clusterUid } : {}),
      ...(more.stopping ? { stopping: true } : {}),
    },
  });
}

/**
 * One valid event of every type, each about aggregate `id` (an agent id for cluster and authz
 * events, the entity id for registry events): the material of the forgery tables (issue 7.1).
 */
export function oneEventOfEachType(topology: Topology, id: number): Record<EventType, KasmapEvent> {
  const e = testEvents(topology);
  return {
    [EVENT_TYPES.clusterSnapshot]: e.snapshot(id, buildClusterFacts()),
    [EVENT_TYPES.clusterHeartbeat]: e.heartbeat(id, "2026-01-01T00:00:00.000Z"),
    [EVENT_TYPES.authzChanged]: e.authz(id, 11, {
      ci_access: { projects: [], groups: [] },
      user_access: { projects: [], groups: [] },
    }),
    [EVENT_TYPES.groupChanged]: e.group(id),
    [EVENT_TYPES.projectChanged]: e.project(id, 1),
    [EVENT_TYPES.userChanged]: {
      ...e.user(id),
      data: { ...e.user(id).data, user: { ...e.user(id).data.user, is_admin: true } },
    },
    [EVENT_TYPES.membershipChanged]: e.membership({
      id,
      user_id: 1,
      source_type: "project",
      source_id: 11,
      access_level: 50,
    }),
    [EVENT_TYPES.personalAccessTokenChanged]: e.personalAccessToken(id, 1, null),
    [EVENT_TYPES.agentChanged]: e.agent(id, 11),
    [EVENT_TYPES.agentTokenChanged]: e.agentToken(id, 3),
    [EVENT_TYPES.jobChanged]: e.job(id, 11),
    [EVENT_TYPES.agentChangeRefused]: e.agentChangeRefused(id),
    [EVENT_TYPES.alertClusterChanged]: e.clusterChangedAlert(id),
    [EVENT_TYPES.alertClusterConflict]: e.clusterConflictAlert(id),
  };
}
