import { sql } from "kysely";
import { retireAgent } from "../agent-retirement.ts";
import { refuseUnmirrored } from "../mirror-namespaces.ts";
import {
  addCounts,
  NOTHING_REMOVED,
  type RemovalCounts,
  removeGroupSubtree,
  removeProject,
} from "../mirror-removals.ts";
import { toAgent, toGroup, toProject } from "../store/entities.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import type { CommandDeps, CommandHandler } from "./command-deps.ts";

type Kind = "group" | "project" | "agent";

/**
 * `mirror.remove`: GitLab deleted it. A group takes its subtree; an agent is deleted as
 * `agent.delete` deletes it. Something already gone is `removed: false`; something Kasmap's own
 * registry created (never mirrored) is refused `conflict`.
 */
export const removeMirrored: CommandHandler<"mirror.remove"> = async (deps, request) => {
  const { result, positions } = await deps.run(null, (unit) => removeOne(unit, request.kind, request.id));
  const removed = result.groups + result.projects + result.agents > 0;
  return { result: { removed }, positions };
};

async function removeOne(unit: UnitOfWork, kind: Kind, id: number): Promise<RemovalCounts> {
  if (kind === "group") {
    const row = await unit.tx.selectFrom("authz.groups").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return NOTHING_REMOVED;
    refuseUnmirrored(row, "group", id);
    return removeGroupSubtree(unit, toGroup(row));
  }
  if (kind === "project") {
    const row = await unit.tx
      .selectFrom("authz.projects")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) return NOTHING_REMOVED;
    refuseUnmirrored(row, "project", id);
    return removeProject(unit, toProject(row));
  }
  const row = await unit.tx
    .selectFrom("authz.agents")
    .selectAll()
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  if (!row) return NOTHING_REMOVED;
  refuseUnmirrored(row, "agent", id);
  await retireAgent(unit, toAgent(row));
  return { groups: 0, projects: 0, agents: 1 };
}

/**
 * `mirror.sweep`: removes what no put stamped since `before` (under `root_group_ids` when
 * given), outermost first: stale groups with their subtrees, then stale projects left, then
 * stale agents left. One transaction per removal, so a large sweep never holds the registry
 * lock for long; counts include what went with a removed group.
 */
export const sweepMirrored: CommandHandler<"mirror.sweep"> = async (deps, request) => {
  const before = new Date(request.before);
  const roots = request.root_group_ids;
  const under = (column: string) =>
    roots === null ? sql<boolean>`true` : sql<boolean>`${sql.ref(column)} && ${sql.val(roots)}::int[]`;
  const groups = await deps.db
    .selectFrom("authz.groups")
    .select("id")
    .where("mirrored_at", "<", before)
    .where(under("traversal_ids"))
    .orderBy(sql`array_length(traversal_ids, 1)`)
    .orderBy("id")
    .execute();
  let counts = NOTHING_REMOVED;
  const positions: Awaited<ReturnType<CommandDeps["run"]>>["positions"] = [];
  const remove = async (kind: Kind, id: number) => {
    const done = await deps.run(null, (unit) => removeOne(unit, kind, id));
    counts = addCounts(counts, done.result);
    positions.push(...done.positions);
  };
  for (const { id } of groups) await remove("group", id);
  const projects = await deps.db
    .selectFrom("authz.projects")
    .select("id")
    .where("mirrored_at", "<", before)
    .where(under("traversal_ids"))
    .orderBy("id")
    .execute();
  for (const { id } of projects) await remove("project", id);
  const agents = await deps.db
    .selectFrom("authz.agents as a")
    .innerJoin("authz.projects as p", "p.id", "a.project_id")
    .select("a.id")
    .where("a.deleted_at", "is", null)
    .where("a.mirrored_at", "<", before)
    .where(under("p.traversal_ids"))
    .orderBy("a.id")
    .execute();
  for (const { id } of agents) await remove("agent", id);
  return { result: counts, positions };
};
