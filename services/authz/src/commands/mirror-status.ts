import { sql } from "kysely";
import type { CommandHandler } from "./command-deps.ts";

/** `mirror.status`: how many groups, projects and live agents are mirrored, and the last stamp. */
export const reportMirrorStatus: CommandHandler<"mirror.status"> = async (deps) => {
  const row = await sql<{ groups: string; projects: string; agents: string; last: Date | null }>`
    select
      (select count(*) from authz.groups where mirrored_at is not null) as groups,
      (select count(*) from authz.projects where mirrored_at is not null) as projects,
      (select count(*) from authz.agents where mirrored_at is not null and deleted_at is null) as agents,
      greatest(
        (select max(mirrored_at) from authz.groups),
        (select max(mirrored_at) from authz.projects),
        (select max(mirrored_at) from authz.agents)
      ) as last
  `.execute(deps.db);
  const counts = row.rows[0];
  return {
    result: {
      groups: Number(counts?.groups ?? 0),
      projects: Number(counts?.projects ?? 0),
      agents: Number(counts?.agents ?? 0),
      last_mirrored_at: counts?.last ? new Date(counts.last).toISOString() : null,
    },
    positions: [],
  };
};
