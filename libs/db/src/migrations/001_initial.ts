import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      create table read_model.groups (
        id bigint primary key,
        name text not null,
        path text not null,
        description text,
        parent_id bigint,
        traversal_ids int[] not null,
        full_path text not null,
        full_name text not null,
        created_at timestamptz not null
      );
      create unique index groups_full_path_lower on read_model.groups (lower(full_path));
      create index groups_traversal_ids on read_model.groups using gin (traversal_ids);
      create index groups_root on read_model.groups ((traversal_ids[1]));

      create table read_model.projects (
        id bigint primary key,
        name text not null,
        path text not null,
        description text,
        namespace_id bigint not null,
        traversal_ids int[] not null,
        path_with_namespace text not null,
        name_with_namespace text not null,
        creator_id bigint,
        created_at timestamptz not null
      );
      create unique index projects_path_lower on read_model.projects (lower(path_with_namespace));
      create index projects_traversal_ids on read_model.projects using gin (traversal_ids);
      create index projects_root on read_model.projects ((traversal_ids[1]));

      create table read_model.users (
        id bigint primary key,
        username text not null,
        name text not null,
        is_admin boolean not null,
        state text not null,
        created_at timestamptz not null
      );

      create table read_model.personal_access_tokens (
        id bigint primary key,
        user_id bigint not null,
        name text not null,
        token_sha256 text not null unique,
        scopes text[] not null,
        revoked boolean not null,
        expires_at date,
        created_at timestamptz not null
      );

      create table read_model.memberships (
        id bigint primary key,
        user_id bigint not null,
        source_type text not null check (source_type in ('group', 'project')),
        source_id bigint not null,
        access_level int not null
      );
      create unique index memberships_source_user on read_model.memberships (source_type, source_id, user_id);
      create index memberships_user on read_model.memberships (user_id);

      create table read_model.agents (
        id bigint primary key,
        name text not null,
        project_id bigint not null,
        created_at timestamptz not null,
        created_by_user_id bigint
      );
      create index agents_project_name on read_model.agents (project_id, name, id);

      create table read_model.agent_tokens (
        id bigint primary key,
        agent_id bigint not null,
        name text not null,
        description text,
        status text not null,
        token_sha256 text not null unique,
        created_at timestamptz not null,
        created_by_user_id bigint,
        last_used_at timestamptz
      );
      create index agent_tokens_agent on read_model.agent_tokens (agent_id);

      -- Latest derived cluster facts per agent (a snapshot event carries them whole).
      create table read_model.cluster_snapshots (
        agent_id bigint primary key,
        content_hash text not null,
        cluster jsonb not null,
        observed_at timestamptz not null,
        stream_seq bigint not null
      );
      -- Every snapshot ever applied: history at a point in time, reverse lookups over time.
      create table read_model.cluster_snapshot_history (
        agent_id bigint not null,
        stream_seq bigint not null,
        content_hash text not null,
        cluster jsonb not null,
        observed_at timestamptz not null,
        primary key (agent_id, stream_seq)
      );

      create table read_model.agent_connections (
        agent_id bigint primary key,
        collector_id text not null,
        last_heartbeat_at timestamptz not null
      );

      create table read_model.ci_access_project_authorizations (
        agent_id bigint not null,
        project_id bigint not null,
        config jsonb not null,
        primary key (agent_id, project_id)
      );
      create index ci_access_project_authorizations_project on read_model.ci_access_project_authorizations (project_id);
      create table read_model.ci_access_group_authorizations (
        agent_id bigint not null,
        group_id bigint not null,
        config jsonb not null,
        primary key (agent_id, group_id)
      );
      create index ci_access_group_authorizations_group on read_model.ci_access_group_authorizations (group_id);
      create table read_model.user_access_project_authorizations (
        agent_id bigint not null,
        project_id bigint not null,
        config jsonb not null,
        primary key (agent_id, project_id)
      );
      create index user_access_project_authorizations_project on read_model.user_access_project_authorizations (project_id);
      create table read_model.user_access_group_authorizations (
        agent_id bigint not null,
        group_id bigint not null,
        config jsonb not null,
        primary key (agent_id, group_id)
      );
      create index user_access_group_authorizations_group on read_model.user_access_group_authorizations (group_id);
      -- What the last configuration dropped, and why (GitLab drops silently; Kasmap reports).
      create table read_model.agent_authorization_reports (
        agent_id bigint primary key,
        dropped jsonb not null,
        updated_at timestamptz not null
      );

      create table read_model.jobs (
        id bigint primary key,
        project_id bigint not null,
        pipeline_id bigint not null,
        user_id bigint not null,
        ref text not null,
        ref_protected boolean,
        environment jsonb,
        status text not null,
        token_sha256 text not null unique,
        created_at timestamptz not null
      );

      -- The stream sequence each durable consumer has applied, written in the same
      -- transaction as the rows it changed: a redelivered or replayed message at or below
      -- it changes nothing.
      create table read_model.projection_positions (
        consumer text primary key,
        stream text not null,
        stream_seq bigint not null,
        updated_at timestamptz not null default now()
      );
    `.execute(db);
}
