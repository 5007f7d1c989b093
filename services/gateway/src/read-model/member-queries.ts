import type { PageRequest } from "../http/pagination.ts";
import type { ReadModel, UserRow } from "./registry-queries.ts";
import { selectCountedPage } from "./window-page.ts";

/**
 * Where a source's members come from: the source itself (GitLab's `/members`), or also the
 * groups above it (`/members/all`: a group's ancestors, a project's namespace and its ancestors).
 */
export type MemberSources = {
  readonly projectId: number | null;
  readonly groupIds: readonly number[];
};

export type MemberFilter = {
  /** Part of the username or name, case-insensitive (GitLab's `query`). */
  readonly query?: string;
  readonly userIds?: readonly number[];
};

export type MemberRow = Pick<UserRow, "id" | "username" | "name" | "state"> & { access_level: number };

/**
 * The members of the sources, one row per user with their highest level there (a user who is a
 * member of a group and of its project counts once, as GitLab's `/members/all` shows them),
 * ordered by user id:
 *
 * ```sql
 * select u.id, u.username, u.name, u.state, l.access_level
 * from (select user_id, max(access_level) as access_level from read_model.memberships
 *       where (source_type = 'project' and source_id = $p) or (source_type = 'group' and source_id in ($g…))
 *       group by user_id) l
 * join read_model.users u on u.id = l.user_id
 * where … order by u.id
 * ```
 */
function membersQuery(db: ReadModel, sources: MemberSources, filter: MemberFilter) {
  const levels = db
    .selectFrom("read_model.memberships as m")
    .select((eb) => ["m.user_id", eb.fn.max("m.access_level").as("access_level")])
    .where((eb) => {
      const groups =
        sources.groupIds.length === 0
          ? eb.val(false)
          : eb.and([eb("m.source_type", "=", "group"), eb("m.source_id", "in", [...sources.groupIds])]);
      if (sources.projectId === null) return eb.or([groups]);
      const project = eb.and([
        eb("m.source_type", "=", "project"),
        eb("m.source_id", "=", sources.projectId),
      ]);
      return eb.or([project, groups]);
    })
    .groupBy("m.user_id");
  let query = db
    .selectFrom(levels.as("l"))
    .innerJoin("read_model.users as u", "u.id", "l.user_id")
    .select(["u.id", "u.username", "u.name", "u.state", "l.access_level"]);
  if (filter.userIds !== undefined && filter.userIds.length > 0) {
    query = query.where("u.id", "in", [...filter.userIds]);
  }
  if (filter.query !== undefined && filter.query !== "") {
    const pattern = `%${filter.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb("u.username", "ilike", pattern), eb("u.name", "ilike", pattern)]));
  }
  return query.orderBy("u.id");
}

/** One page of the sources' members and their number over all pages. */
export async function listMembers(
  db: ReadModel,
  sources: MemberSources,
  filter: MemberFilter,
  page: PageRequest,
): Promise<{ members: MemberRow[]; total: number }> {
  const { rows, total } = await selectCountedPage(db, membersQuery(db, sources, filter), page);
  return { members: rows.map(withNumericLevel), total };
}

/** One user's membership of the sources (their highest level there), or null when they hold none. */
export async function findMember(
  db: ReadModel,
  sources: MemberSources,
  userId: number,
): Promise<MemberRow | null> {
  const row = await membersQuery(db, sources, { userIds: [userId] }).executeTakeFirst();
  return row ? withNumericLevel(row) : null;
}

function withNumericLevel<R extends { access_level: number | string | bigint }>(row: R) {
  return { ...row, access_level: Number(row.access_level) };
}
