import {
  type Agent,
  type AgentToken,
  type AuthzChangedDataSchema,
  EVENT_TYPES,
  type Group,
  type Job,
  type Membership,
  newKasmapEvent,
  type PersonalAccessToken,
  type Project,
  type User,
} from "@kasmap/contracts";
import type { z } from "zod";
import type { UnitOfWork } from "./unit-of-work.ts";

/** CloudEvents `source` of every event this service publishes. */
export const AUTHZ_EVENT_SOURCE = "/kasmap/authz";

/**
 * Emitters of registry events, `io.kasmap.registry.<kind>.changed.v1` on
 * `<root>.registry.<kind>.<id>.changed`, each carrying the entity's whole state (token digests
 * only: the entity types have no field for a plaintext token).
 */
export const emitRegistryChange = {
  group(unit: UnitOfWork, group: Group): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.groupChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("group", group.id),
        data: { group, actor_user_id: unit.actorUserId },
      }),
    );
  },
  project(unit: UnitOfWork, project: Project): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.projectChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("project", project.id),
        data: { project, actor_user_id: unit.actorUserId },
      }),
    );
  },
  user(unit: UnitOfWork, user: User): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.userChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("user", user.id),
        data: { user, actor_user_id: unit.actorUserId },
      }),
    );
  },
  membership(unit: UnitOfWork, membership: Membership): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.membershipChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("membership", membership.id),
        data: { membership, actor_user_id: unit.actorUserId },
      }),
    );
  },
  personalAccessToken(unit: UnitOfWork, token: PersonalAccessToken): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.personalAccessTokenChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("personal_access_token", token.id),
        data: { token, actor_user_id: unit.actorUserId },
      }),
    );
  },
  agent(unit: UnitOfWork, agent: Agent): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.agentChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("agent", agent.id),
        data: { agent, actor_user_id: unit.actorUserId },
      }),
    );
  },
  agentToken(unit: UnitOfWork, token: AgentToken): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.agentTokenChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("agent_token", token.id),
        data: { token, actor_user_id: unit.actorUserId },
      }),
    );
  },
  job(unit: UnitOfWork, job: Job): void {
    unit.emit(
      newKasmapEvent({
        type: EVENT_TYPES.jobChanged,
        source: AUTHZ_EVENT_SOURCE,
        subject: unit.topology.subjects.registryChanged("job", job.id),
        data: { job, actor_user_id: unit.actorUserId },
      }),
    );
  },
};

export type AuthzChange = Omit<z.infer<typeof AuthzChangedDataSchema>, "actor_user_id">;

/** `io.kasmap.authz.changed.v1` on `<root>.authz.<agentId>.changed`: the agent's whole grant set. */
export function emitAuthzChange(unit: UnitOfWork, change: AuthzChange): void {
  unit.emit(
    newKasmapEvent({
      type: EVENT_TYPES.authzChanged,
      source: AUTHZ_EVENT_SOURCE,
      subject: unit.topology.subjects.authzChanged(change.agent_id),
      data: { ...change, actor_user_id: unit.actorUserId },
    }),
  );
}
