import type { KasmapEvent } from "./events.ts";
import { agentIdFromSubject } from "./topology.ts";

/**
 * Why an event may not be trusted on the subject it arrived on, or null when it may.
 *
 * NATS permissions bind a collector to its own agent's subjects (infra/nats), but the payload
 * is the collector's to write: a snapshot for agent 43 sent on agent 42's subject must not
 * overwrite agent 43's cluster info. So the envelope's `subject` must be the subject the
 * message was stored under, and the aggregate id in the data must be the one in the subject.
 */
export function eventSubjectMismatch(event: KasmapEvent, natsSubject: string): string | null {
  if (event.subject !== natsSubject) {
    return `envelope subject ${event.subject} differs from the NATS subject ${natsSubject}`;
  }
  const claimed = claimedId(event);
  const fromSubject =
    natsSubject.split(".")[1] === "registry"
      ? registryIdFromSubject(natsSubject)
      : agentIdFromSubject(natsSubject);
  if (fromSubject === null) return `subject ${natsSubject} names no aggregate id`;
  if (claimed !== fromSubject) return `data names ${claimed}, subject ${natsSubject} names ${fromSubject}`;
  return null;
}

/** `<root>.registry.<kind>.<id>.changed` → id */
function registryIdFromSubject(subject: string): number | null {
  const id = Number(subject.split(".")[3]);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

function claimedId(event: KasmapEvent): number {
  switch (event.type) {
    case "io.kasmap.cluster.snapshot.v1":
    case "io.kasmap.cluster.heartbeat.v1":
    case "io.kasmap.authz.changed.v1":
      return event.data.agent_id;
    case "io.kasmap.registry.group.changed.v1":
      return event.data.group.id;
    case "io.kasmap.registry.project.changed.v1":
      return event.data.project.id;
    case "io.kasmap.registry.user.changed.v1":
      return event.data.user.id;
    case "io.kasmap.registry.membership.changed.v1":
      return event.data.membership.id;
    case "io.kasmap.registry.personal_access_token.changed.v1":
      return event.data.token.id;
    case "io.kasmap.registry.agent.changed.v1":
      return event.data.agent.id;
    case "io.kasmap.registry.agent_token.changed.v1":
      return event.data.token.id;
    case "io.kasmap.registry.job.changed.v1":
      return event.data.job.id;
  }
}
