import { AgentNameSchema, EMPTY_GRANT_SET, KasmapError, NOT_FOUND } from "@kasmap/contracts";
import { publishGrantChange } from "../agent-authorizations.ts";
import { retireAgent } from "../agent-retirement.ts";
import { invalidField, requireFieldFormat } from "../field-validation.ts";
import { requireProjectAction } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findLiveAgent, toAgent } from "../store/entities.ts";
import { actorCommand } from "./actor-command.ts";
import { auditingRefusals } from "./agent-refusals.ts";

/**
 * `agent.create`: Maintainer+ on the project; then the model's rules, as GitLab's
 * `Clusters::Agent` validations: the name's format and length (`AgentNameSchema`), and unique
 * among the project's live agents (`validation_failed` with the field's messages; the gateway
 * answers GitLab's `400 Bad request - ["Name …"]`). Those refusals are audited
 * (`cluster_agent_create_failed`). The agent may always be used by its own project (implicit,
 * no row); an `authz.changed` event with empty grants still announces it, so the audit log shows
 * the agent from its first moment.
 */
export const createAgent = auditingRefusals(
  "create",
  actorCommand<"agent.create">(async (unit, actor, request) => {
    const project = await requireProjectAction(unit.tx, actor, request.project_id, "admin_cluster");
    requireFieldFormat("name", AgentNameSchema, request.name);
    const taken = await unit.tx
      .selectFrom("authz.agents")
      .select("id")
      .where("project_id", "=", project.id)
      .where("name", "=", request.name)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    if (taken) throw invalidField("name", ["has already been taken"]);
    const row = await unit.tx
      .insertInto("authz.agents")
      .values({ name: request.name, project_id: project.id, created_by_user_id: actor.id, deleted_at: null })
      .returningAll()
      .executeTakeFirstOrThrow();
    const agent = toAgent(row);
    emitRegistryChange(unit, "agent", agent);
    publishGrantChange(unit, agent, "agent_created", EMPTY_GRANT_SET, EMPTY_GRANT_SET, {
      dropped_count: 0,
      dropped: [],
    });
    return agent;
  }),
);

/**
 * `agent.delete`: Maintainer+ on the project. The agent is marked deleted (the audit log keeps
 * its history), its active tokens are revoked, and its grants become empty. A refusal for the
 * agent's own errors would be audited (`cluster_agent_delete_failed`), as GitLab audits a failed
 * `destroy`; none arises today (404 and 403 come first and are not audited, as in GitLab).
 */
export const deleteAgent = auditingRefusals(
  "delete",
  actorCommand<"agent.delete">(async (unit, actor, request) => {
    const project = await requireProjectAction(unit.tx, actor, request.project_id, "admin_cluster");
    const live = await findLiveAgent(unit.tx, project.id, request.agent_id);
    if (!live) throw new KasmapError("not_found", NOT_FOUND.agent);
    return retireAgent(unit, live);
  }),
);
