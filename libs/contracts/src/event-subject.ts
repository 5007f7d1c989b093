import { collectorSubjectToken, isCollectorSubjectToken } from "./collector-subject-token.ts";
import {
  EVENT_TYPES,
  type EventType,
  isAgentDataEvent,
  type KasmapEvent,
  type KasmapEventOf,
} from "./events.ts";
import {
  boundSubjectId,
  EVENT_BINDINGS,
  REGISTRY_ENTITY_FIELDS,
  REGISTRY_EVENT_TYPES,
  REGISTRY_KINDS,
  type RegistryKind,
  type StreamRole,
} from "./topology.ts";

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
  if (bound.collectorToken !== null && event.type === EVENT_TYPES.clusterHeartbeat) {
    if (!isCollectorSubjectToken(bound.collectorToken, event.data.collector_id)) {
      const own = collectorSubjectToken(event.data.collector_id);
      return `data names collector ${event.data.collector_id} (token ${own}), subject ${stored.subject} names ${bound.collectorToken}`;
    }
  }
  return null;
}

/** The aggregate id an event's data is about: the id its subject must carry. */
export function claimedId(event: KasmapEvent): number {
  if (event.type === EVENT_TYPES.agentChangeRefused) return event.data.project_id;
  return isAgentDataEvent(event) ? event.data.agent_id : registryEntityId(event);
}

type RegistryEventType = (typeof REGISTRY_EVENT_TYPES)[RegistryKind];
type RegistryEntityField = (typeof REGISTRY_ENTITY_FIELDS)[RegistryKind];

const REGISTRY_KIND_OF_TYPE = new Map<EventType, RegistryKind>(
  REGISTRY_KINDS.map((kind) => [REGISTRY_EVENT_TYPES[kind], kind]),
);

/** The id of the entity a registry event carries, in the field `REGISTRY_ENTITY_FIELDS` names. */
function registryEntityId(event: KasmapEventOf<RegistryEventType>): number {
  const kind = REGISTRY_KIND_OF_TYPE.get(event.type);
  if (kind === undefined) throw new TypeError(`${event.type} is not a registry event type`);
  // The field belongs to the event's own type, but TypeScript cannot pair a looked-up field name
  // with one member of the union.
  const data = event.data as unknown as Record<RegistryEntityField, { id: number }>;
  return data[REGISTRY_ENTITY_FIELDS[kind]].id;
}
