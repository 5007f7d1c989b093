import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // Personal namespaces share the groups' id and path space (as in GitLab), so they live
  // in the same table; `kind` keeps them out of the groups API.
  await sql`
      alter table read_model.groups
        add column kind text not null default 'group' check (kind in ('group', 'user')),
        add column owner_id bigint;
    `.execute(db);
}
