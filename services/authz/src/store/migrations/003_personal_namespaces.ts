import { type Kysely, type Migration, sql } from "kysely";

export const personalNamespacesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // GitLab's `namespaces.type = 'User'`: a personal namespace shares the groups' id and path
    // space (a username and a top-level group path can never be equal), so it lives in the
    // same table, told apart by `kind` and tied to its user by `owner_id` (one per user).
    await sql`
      alter table authz.groups
        add column kind text not null default 'group' check (kind in ('group', 'user')),
        add column owner_id bigint references authz.users (id),
        add constraint groups_user_namespace_owner check ((kind = 'user') = (owner_id is not null));
      create unique index groups_personal_namespace_of on authz.groups (owner_id) where kind = 'user';
    `.execute(db);
  },
};
