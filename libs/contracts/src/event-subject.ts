import { collectorSubjectToken } from "./collector-subject-token.ts";
import type { KasmapEvent } from "./events.ts";
import { boundSubjectId, EVENT_BINDINGS, type StreamRole } from "./topology.ts";

/** Where a message was stored: the topology root, the stream (by role) and the NATS subject. */
export type StoredLocation = { root: string; stream: StreamRole; subject: string };

/**
 * Why an event may not be trusted where it was stored, or null when it may.
 *
 * NATS permissions bind a collector to its own agent's snapshot and heartbeat subjects
 * (infra/nats), but the payload is the collector's to write. So, in this order:
 * - its type must belong to the stream it was read from (`EVENT_BINDINGS`): a registry or authz
 *   event on a cluster subject would otherwise become a token, a user or a grant (issue 7.1);
 * - the subject must be the one the type is bound to, and the envelope's `subject` must be it;
 * - the aggregate id in the data must be the one in the subject: a snapshot for agent 43 sent
 *   on agent 42's subject must not overwrite agent 43's cluster info;
 * - a heartbeat on a collector's own subject (`….heartbeat.<token>`) must name that collector,
 *   so one replica cannot replace another's retained heartbeat by mistake.
 */
export function eventBindingMismatch(event: KasmapEvent, stored: StoredLocation): string | null {
  const binding = EVENT_BINDINGS[event.type];
  if (binding.stream !== stored.stream) {
    return `type ${event.type} belongs to the ${binding.stream} stream, not to the ${stored.stream} stream (subject ${stored.subject})`;
  }
  const bound = boundSubjectId(stored.root, event.type, stored.subject);
  if (!bound.ok) return bound.reason;
  if (event.subject !== stored.subject) {
    return `envelope subject ${event.subject} differs from the NATS subject ${stored.subject}`;
  }
  const claimed = claimedId(event);
  if (claimed !== bound.id) return `data names ${claimed}, subject ${stored.subject} names ${bound.id}`;
  if (bound.collectorToken !== null && event.type === "io.kasmap.cluster.heartbeat.v1") {
    const own = collectorSubjectToken(event.data.collector_id);
    if (own !== bound.collectorToken) {
      return `data names collector ${event.data.collector_id} (token ${own}), subject ${stored.subject} names ${bound.collectorToken}`;
    }
  }
  return null;
}

/** The aggregate id an event's data is about: the id its subject must carry. */
export function claimedId(event: KasmapEvent): number {
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
