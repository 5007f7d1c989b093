import {
  type AuthzChangedDataSchema,
  EVENT_TYPES,
  type EventDataOf,
  newKasmapEvent,
  REGISTRY_ENTITY_FIELDS,
  REGISTRY_EVENT_TYPES,
  type RegistryKind,
} from "@kasmap/contracts";
import type { z } from "zod";
import type { UnitOfWork } from "./unit-of-work.ts";

/** CloudEvents `source` of every event this service publishes. */
export const AUTHZ_EVENT_SOURCE = "/kasmap/authz";

type RegistryEventType = (typeof REGISTRY_EVENT_TYPES)[RegistryKind];
type RegistryEventData<K extends RegistryKind> = EventDataOf<(typeof REGISTRY_EVENT_TYPES)[K]>;

/** The entity a registry event of `kind` carries (`Group` for "group", `AgentToken` for "agent_token", …). */
export type RegistryEntity<K extends RegistryKind> = RegistryEventData<K>[(typeof REGISTRY_ENTITY_FIELDS)[K] &
  keyof RegistryEventData<K>];

/** The kinds whose events become audit events: they carry the actor's client address too. */
const AUDITED_KINDS: readonly RegistryKind[] = ["agent", "agent_token"];

/**
 * Emits the registry event of `kind`, `io.kasmap.registry.<kind>.changed.v1` on
 * `<root>.registry.<kind>.<id>.changed`, carrying the entity's whole state (token digests only:
 * the entity types have no field for a plaintext token) and the acting user (with their client
 * address for the audited kinds, when known).
 */
export function emitRegistryChange<K extends RegistryKind>(
  unit: UnitOfWork,
  kind: K,
  entity: RegistryEntity<K> & { id: number },
): void {
  const ip =
    unit.actorIpAddress !== null && AUDITED_KINDS.includes(kind)
      ? { actor_ip_address: unit.actorIpAddress }
      : {};
  const data = { [REGISTRY_ENTITY_FIELDS[kind]]: entity, actor_user_id: unit.actorUserId, ...ip };
  unit.emit(
    newKasmapEvent<RegistryEventType>({
      type: REGISTRY_EVENT_TYPES[kind],
      source: AUTHZ_EVENT_SOURCE,
      subject: unit.topology.subjects.registryChanged(kind, entity.id),
      // A computed key loses the pairing of field and entity that the table and `RegistryEntity`
      // guarantee; TypeScript cannot follow it through the generic `K`.
      data: data as unknown as EventDataOf<RegistryEventType>,
    }),
  );
}

export type AuthzChange = Omit<z.infer<typeof AuthzChangedDataSchema>, "actor_user_id">;

/**
 * `io.kasmap.authz.changed.v1` on `<root>.authz.<agentId>.changed`: the agent's whole grant set.
 * `time` (the CloudEvent `time`, now when absent): a deletion's empty grant set carries the
 * agent's `deleted_at` (and the deletion's number, `deletion`, which pairs it with the deletion
 * on the registry stream; the time does for an authz that predates the number).
 */
export function emitAuthzChange(unit: UnitOfWork, change: AuthzChange, time?: Date): void {
  unit.emit(
    newKasmapEvent({
      type: EVENT_TYPES.authzChanged,
      source: AUTHZ_EVENT_SOURCE,
      subject: unit.topology.subjects.authzChanged(change.agent_id),
      data: { ...change, actor_user_id: unit.actorUserId },
      ...(time === undefined ? {} : { time }),
    }),
  );
}
