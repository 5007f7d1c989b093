import { type RawBuilder, sql } from "kysely";

/** The PostgreSQL element types the batch writes send their columns as. */
export type ColumnArrayType = "bigint" | "text" | "jsonb" | "timestamptz" | "inet";

/**
 * `rows` as a table for one statement, one array parameter per column whatever the number of
 * rows (a multi-row `values` list would pass PostgreSQL's 65,535 parameters). `columns` names
 * each column of the rows sent and its element type, in order:
 *
 * ```sql
 * unnest($1::bigint[], $2::text[], …) as <alias>(agent_id, field, …)
 * ```
 */
export function unnestColumns<Row extends object, Column extends keyof Row & string>(
  rows: readonly Row[],
  alias: string,
  columns: { readonly [C in Column]: ColumnArrayType },
): RawBuilder<unknown> {
  const names = Object.keys(columns) as Column[];
  const arrays = names.map(
    (name) => sql`${sql.val(rows.map((row) => row[name]))}::${sql.raw(columns[name])}[]`,
  );
  return sql`unnest(${sql.join(arrays)}) as ${sql.id(alias)}(${sql.join(names.map((name) => sql.id(name)))})`;
}
