import type { AgentTokenKind } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Selectable } from "kysely";
import type { PageRequest } from "../http/pagination.ts";
import { pageOffset } from "../http/pagination.ts";
import type { ProjectRow, ReadModel } from "./registry-queries.ts";
import { selectWindowPage } from "./window-page.ts";

export type AgentRow = Selectable<ReadModelDatabase["read_model.agents"]>;
export type AgentTokenRow = Selectable<ReadModelDatabase["read_model.agent_tokens"]>;
export type AgentWithProject = { agent: AgentRow; project: ProjectRow };

/**
 * The agents with their configuration projects (the projects they are registered in), in two
 * queries (the agents, then their projects); an agent without a row, or whose project has none,
 * is not in the map.
 */
export async function findAgents(
  db: ReadModel,
  agentIds: readonly number[],
): Promise<Map<number, AgentWithProject>> {
  const found = new Map<number, AgentWithProject>();
  if (agentIds.length === 0) return found;
  const agents = await db.selectFrom("read_model.agents").selectAll().where("id", "in", agentIds).execute();
  if (agents.length === 0) return found;
  const projectIds = [...new Set(agents.map((agent) => agent.project_id))];
  const projects = await db
    .selectFrom("read_model.projects")
    .selectAll()
    .where("id", "in", projectIds)
    .execute();
  const projectById = new Map(projects.map((project) => [project.id, project]));
  for (const agent of agents) {
    const project = projectById.get(agent.project_id);
    if (project) found.set(agent.id, { agent, project });
  }
  return found;
}

/**
 * One page of a project's agents, ordered by `name` then `id` (GitLab orders by name; the id
 * breaks ties so pages never overlap), with the total from `count(*) over ()`.
 */
export async function listProjectAgents(
  db: ReadModel,
  projectId: number,
  page: PageRequest,
): Promise<{ agents: AgentRow[]; total: number }> {
  const agents = db.selectFrom("read_model.agents").selectAll().where("project_id", "=", projectId);
  const { rows, total } = await selectWindowPage(agents.orderBy("name").orderBy("id"), page);
  return { agents: rows, total: total ?? (await countProjectAgents(db, projectId)) };
}

/** A page past the end returns no rows, hence no window total: count separately then. */
async function countProjectAgents(db: ReadModel, projectId: number): Promise<number> {
  const row = await db
    .selectFrom("read_model.agents")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * One page of an agent's active tokens of `kind` (GitLab lists only active ones), ordered by id:
 * agent tokens on `…/tokens`, collector tokens on `…/collector_tokens`.
 */
export async function listActiveAgentTokens(
  db: ReadModel,
  agentId: number,
  kind: AgentTokenKind,
  page: PageRequest,
): Promise<{ tokens: AgentTokenRow[]; total: number }> {
  const base = db
    .selectFrom("read_model.agent_tokens")
    .where("agent_id", "=", agentId)
    .where("kind", "=", kind)
    .where("status", "=", "active");
  const [tokens, count] = await Promise.all([
    base.selectAll().orderBy("id").limit(page.perPage).offset(pageOffset(page)).execute(),
    base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return { tokens, total: Number(count.n) };
}

/**
 * An active agent token (kind `agent`) of the agent; a revoked one is treated as absent
 * (GitLab: 404), and so is a collector token.
 */
export async function findActiveAgentToken(
  db: ReadModel,
  agentId: number,
  tokenId: number,
): Promise<AgentTokenRow | null> {
  const row = await db
    .selectFrom("read_model.agent_tokens")
    .selectAll()
    .where("id", "=", tokenId)
    .where("agent_id", "=", agentId)
    .where("kind", "=", "agent")
    .where("status", "=", "active")
    .executeTakeFirst();
  return row ?? null;
}
