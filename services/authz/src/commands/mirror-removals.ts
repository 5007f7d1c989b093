import { KasmapError } from "@kasmap/contracts";
import { sql } from "kysely";
import { retireAgent } from "../agent-retirement.ts";
import { mirrorClock } from "../mirror-clock.ts";
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

/**
 * Removes one mirrored thing. `staleBefore` (the sweep's): only while no put has stamped it since
 * then, re-read under the registry lock, so a hook that put it again after the sweep listed it
 * keeps it.
 */
async function removeOne(
  unit: UnitOfWork,
  kind: Kind,
  id: number,
  staleBefore: Date | null = null,
): Promise<RemovalCounts> {
  if (kind === "group") {
    const row = await unit.tx.selectFrom("authz.groups").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row || stampedSince(row, staleBefore)) return NOTHING_REMOVED;
    refuseUnmirrored(row, "group", id);
    return removeGroupSubtree(unit, toGroup(row));
  }
  if (kind === "project") {
    const row = await unit.tx
      .selectFrom("authz.projects")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row || stampedSince(row, staleBefore)) return NOTHING_REMOVED;
    refuseUnmirrored(row, "project", id);
    return removeProject(unit, toProject(row));
  }
  const row = await unit.tx
    .selectFrom("authz.agents")
    .selectAll()
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  if (!row || stampedSince(row, staleBefore)) return NOTHING_REMOVED;
  refuseUnmirrored(row, "agent", id);
  await retireAgent(unit, toAgent(row));
  return { groups: 0, projects: 0, agents: 1 };
}

/** Whether a put stamped `row` at or after `time` (null: no time, never). */
function stampedSince(row: { mirrored_at: Date | null }, time: Date | null): boolean {
  return time !== null && row.mirrored_at !== null && row.mirrored_at >= time;
}

/**
 * `mirror.walk.begin`: the start of a full reconcile's walk, by the clock puts stamp with
 * (`mirrorClock`); the sweep after the walk removes what no put stamped since.
 */
export const beginMirrorWalk: CommandHandler<"mirror.walk.begin"> = async (deps) => {
  const startedAt = await mirrorClock(deps.db);
  return { result: { started_at: startedAt.toISOString() }, positions: [] };
};

/**
 * `mirror.sweep`: removes what no put stamped since `walk_started_at` (under `root_group_ids`
 * when given), outermost first: stale groups with their subtrees, then stale projects left, then
 * stale agents left. One transaction per removal, so a large sweep never holds the registry
 * lock for long; counts include what went with a removed group. A start later than now cannot
 * have come from `mirror.walk.begin` (a sync's own clock, running ahead): refused, nothing
 * removed.
 */
export const sweepMirrored: CommandHandler<"mirror.sweep"> = async (deps, request) => {
  const before = new Date(request.walk_started_at);
  if (before > (await mirrorClock(deps.db))) {
    throw new KasmapError(
      "bad_request",
      `walk_started_at ${request.walk_started_at} is later than authz's clock: use the started_at mirror.walk.begin answered`,
    );
  }
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
    const done = await deps.run(null, (unit) => removeOne(unit, kind, id, before));
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
