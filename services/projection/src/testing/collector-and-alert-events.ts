import type { Bus } from "@kasmap/bus";
import {
  type AuditEventType,
  EVENT_TYPES,
  type KasmapEvent,
  KasmapEventSchema,
  newKasmapEvent,
  type Topology,
} from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";

/** A heartbeat of replica `pod` of the agent, on that replica's own subject (issue 11). */
export function replicaHeartbeat(
  topology: Topology,
  agentId: number,
  pod: string,
  sentAt: string,
  more: { stopping?: boolean; ip?: string; clusterUid?: string } = {},
) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: `/kasmap/collector/${pod}`,
    subject: topology.subjects.clusterCollectorHeartbeat(agentId, pod),
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

/** Every message of the alerts stream, oldest first, with its subject and `Nats-Msg-Id`. */
export async function readAlertStream(
  bus: Bus,
  topology: Topology,
): Promise<{ event: KasmapEvent; subject: string; msgId: string }[]> {
  const name = topology.streamNames.alerts;
  const { state } = await bus.jsm.streams.info(name);
  const alerts = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const message = await bus.jsm.streams.getMessage(name, { seq });
    if (message) {
      alerts.push({
        event: KasmapEventSchema.parse(message.json()),
        subject: message.subject,
        msgId: message.header?.get("Nats-Msg-Id") ?? "",
      });
    }
  }
  return alerts;
}

/** The agent's audit events of one type in the read model, oldest first. */
export async function auditEventsOf(db: Kysely<ReadModelDatabase>, agentId: number, type: AuditEventType) {
  return db
    .selectFrom("read_model.audit_events")
    .select(["event_id", "details", "entity_id", "entity_path"])
    .where("agent_id", "=", agentId)
    .where("event_type", "=", type)
    .orderBy("stream_seq")
    .execute();
}
