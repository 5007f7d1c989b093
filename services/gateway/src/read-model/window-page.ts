import { type QueryExecutorProvider, type SelectQueryBuilder, sql } from "kysely";
import { type PageRequest, pageOffset } from "../http/pagination.ts";

/**
 * One page of `query`'s rows and the number of its rows over all pages, in one statement: the
 * query with `count(*) over () as total` added to its columns and `limit $perPage offset $offset`
 * (`query` brings its own order, which must be total for pages not to overlap). A page past the
 * end has no row to carry the count: `total` is null then, and the caller decides what to answer.
 */
export async function selectWindowPage<DB, TB extends keyof DB, Row>(
  query: SelectQueryBuilder<DB, TB, Row>,
  page: PageRequest,
): Promise<{ rows: Row[]; total: number | null }> {
  // kysely cannot resolve the added column's type over a generic table: it is named here.
  const rows = (await query
    .select((eb) => eb.fn.countAll<number>().over().as("total"))
    .limit(page.perPage)
    .offset(pageOffset(page))
    .execute()) as Array<Row & { total: number | string }>;
  return {
    rows: rows.map(({ total: _total, ...row }) => row as Row),
    total: rows[0] ? Number(rows[0].total) : null,
  };
}

/**
 * As `selectWindowPage`, with the total also for a page past the end (counted separately then,
 * `select count(*) from (<query>) q`), so a list's headers always say how many rows there are.
 */
export async function selectCountedPage<DB, TB extends keyof DB, Row>(
  db: QueryExecutorProvider,
  query: SelectQueryBuilder<DB, TB, Row>,
  page: PageRequest,
): Promise<{ rows: Row[]; total: number }> {
  const { rows, total } = await selectWindowPage(query, page);
  if (total !== null) return { rows, total };
  const counted = await sql<{ n: string }>`select count(*) as n from (${query}) as q`.execute(db);
  return { rows: [], total: Number(counted.rows[0]?.n ?? 0) };
}
