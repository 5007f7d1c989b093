import type { Bus } from "@kasmap/bus";
import { type AuditEventType, type KasmapEvent, KasmapEventSchema, type Topology } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";

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
