import { type Kysely, type Migration, sql } from "kysely";

/**
 * GitLab mode (docs/gitlab-mode.md): `mirrored_at` is when a `mirror.*` put last confirmed a
 * group, project or agent (null: created by Kasmap's own registry); a sweep removes what no put
 * stamped since a reconcile began. `mirror_config_sha256` is the digest of the config file
 * last mirrored for an agent, accepted or refused, so the same file again publishes nothing.
 * A mirrored personal namespace has no owner in Kasmap (GitLab's users are not mirrored), so
 * the owner rule now binds only namespaces Kasmap created itself.
 */
export const mirrorMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      alter table authz.groups add column mirrored_at timestamptz;
      alter table authz.projects add column mirrored_at timestamptz;
      alter table authz.agents add column mirrored_at timestamptz, add column mirror_config_sha256 text;
      alter table authz.groups
        drop constraint groups_user_namespace_owner,
        add constraint groups_user_namespace_owner
          check (owner_id is null or kind = 'user'),
        add constraint groups_user_namespace_owned_unless_mirrored
          check (kind = 'group' or owner_id is not null or mirrored_at is not null);
      create index groups_mirrored_at on authz.groups (mirrored_at) where mirrored_at is not null;
      create index projects_mirrored_at on authz.projects (mirrored_at) where mirrored_at is not null;
      create index agents_mirrored_at on authz.agents (mirrored_at) where mirrored_at is not null;
    `.execute(db);
  },
};
