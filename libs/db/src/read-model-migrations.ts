import { type Kysely, type Migration, sql } from "kysely";

/** The read model's PostgreSQL schema. The projection owns it; the gateway only reads it. */
export const READ_MODEL_SCHEMA = "read_model";

/**
 * Migrations of the read model. Ids are GitLab-style integers assigned by authz; rows carry
 * state copied from events. Group and project membership questions are answered with the
 * `traversal_ids` arrays and their GIN indexes (`@>` containment), never by walking trees.
 */
export const readModelMigrations: Record<string, Migration> = {
  "001_initial": {
    async up(db: Kysely<unknown>) {
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
    },
  },
  "002_history_by_time_and_heartbeat_hash": {
    async up(db: Kysely<unknown>) {
      await sql`
        -- "Which cluster did agent X point at, at time T": newest history row at or before T.
        create index cluster_snapshot_history_agent_time
          on read_model.cluster_snapshot_history (agent_id, observed_at desc);
        -- The content hash the collector last reported: a hash without a matching snapshot
        -- means the snapshot event has not been projected yet.
        alter table read_model.agent_connections add column content_hash text;
      `.execute(db);
    },
  },
  "011_cluster_addresses": {
    async up(db: Kysely<unknown>) {
      await sql`
        -- Reverse lookup by IP or CIDR: one row per address an agent's latest snapshot reports
        -- (node IPs, api_endpoint_ip, agent_pod_ip as /32 or /128; pod and service CIDRs as
        -- their network), replaced with the snapshot. The GiST inet_ops index answers
        -- "contains this IP" (>>=) and "overlaps this CIDR" (&&) without a scan.
        create table read_model.cluster_addresses (
          agent_id bigint not null,
          field text not null,
          address inet not null,
          primary key (agent_id, field, address)
        );
        create index cluster_addresses_address on read_model.cluster_addresses using gist (address inet_ops);
      `.execute(db);
    },
  },
  "010_audit_events": {
    async up(db: Kysely<unknown>) {
      await sql`
        -- The audit log in GitLab's audit-event shape, written by the projection in the
        -- transaction that applies the source event. event_id (the CloudEvent id, plus a
        -- suffix when one event yields several) is unique, so re-applying an event adds nothing.
        -- entity_id/entity_path are null when the agent was not projected yet (streams are
        -- consumed independently); the agent's own event fills them in.
        create table read_model.audit_events (
          id bigserial primary key,
          event_id text not null unique,
          event_type text not null,
          author_id bigint,
          entity_id bigint,
          entity_type text not null default 'Project',
          entity_path text,
          target_id bigint not null,
          target_type text not null,
          details jsonb not null,
          created_at timestamptz not null,
          agent_id bigint not null,
          stream text not null,
          stream_seq bigint not null
        );
        create index audit_events_agent_time on read_model.audit_events (agent_id, created_at desc);
        create index audit_events_entity_time on read_model.audit_events (entity_type, entity_id, created_at desc);
      `.execute(db);
    },
  },
  "012_allowed_agents_function": {
    async up(db: Kysely<unknown>) {
      // GitLab's CI access finder (see services/gateway/src/read-model/allowed-agents-query.ts
      // for the rules) as a PL/pgSQL function: PostgreSQL caches its plan per connection, and
      // planning this statement costs more than running it (~0.5 ms vs ~0.25 ms on 1M projects).
      await sql`
        create function read_model.allowed_agents(p_project_id bigint, p_include_descendants boolean)
        returns table (
          agent_id bigint, priority int, via_group_id bigint, config jsonb, agent_name text,
          cp_id bigint, cp_name text, cp_path text, cp_description text,
          cp_path_with_namespace text, cp_name_with_namespace text, cp_namespace_id bigint,
          cp_traversal_ids int[], cp_creator_id bigint, cp_created_at timestamptz
        )
        language plpgsql stable
        as $fn$
        #variable_conflict use_column
        begin
          return query
          with p as (select id, traversal_ids from read_model.projects where id = p_project_id),
          candidates as (
            select a.agent_id, 0 as priority, null::bigint as via_group_id, a.config, 0 as depth
              from read_model.ci_access_project_authorizations a join p on a.project_id = p.id
            union all
            select ag.id, 1, null::bigint, '{}'::jsonb, 0
              from read_model.agents ag join p on ag.project_id = p.id
            union all
            select g.agent_id, 2, g.group_id, g.config, array_position(p.traversal_ids, g.group_id::int)
              from read_model.ci_access_group_authorizations g join p on g.group_id = any(p.traversal_ids)
          ),
          best as (
            select distinct on (c.agent_id)
              c.agent_id, c.priority, c.via_group_id, c.config, ag.name as agent_name,
              cp.id as cp_id, cp.name as cp_name, cp.path as cp_path, cp.description as cp_description,
              cp.path_with_namespace as cp_path_with_namespace,
              cp.name_with_namespace as cp_name_with_namespace, cp.namespace_id as cp_namespace_id,
              cp.traversal_ids as cp_traversal_ids, cp.creator_id as cp_creator_id,
              cp.created_at as cp_created_at
            from candidates c
            join read_model.agents ag on ag.id = c.agent_id
            join read_model.projects cp on cp.id = ag.project_id
            cross join p
            where c.priority = 1
               or (p_include_descendants and cp.traversal_ids[1] = p.traversal_ids[1])
               or (not p_include_descendants and p.traversal_ids @> array[cp.namespace_id::int])
            order by c.agent_id, c.priority, c.depth desc
          )
          select b.agent_id, b.priority, b.via_group_id, b.config, b.agent_name, b.cp_id, b.cp_name,
                 b.cp_path, b.cp_description, b.cp_path_with_namespace, b.cp_name_with_namespace,
                 b.cp_namespace_id, b.cp_traversal_ids, b.cp_creator_id, b.cp_created_at
            from best b order by b.priority, b.agent_id;
        end
        $fn$;
      `.execute(db);
    },
  },
  "013_personal_namespaces": {
    async up(db: Kysely<unknown>) {
      // Personal namespaces share the groups' id and path space (as in GitLab), so they live
      // in the same table; `kind` keeps them out of the groups API.
      await sql`
        alter table read_model.groups
          add column kind text not null default 'group' check (kind in ('group', 'user')),
          add column owner_id bigint;
      `.execute(db);
    },
  },
  "014_agent_disconnections": {
    async up(db: Kysely<unknown>) {
      await sql`
        -- The disconnection sweeper marks an agent once it reported its silence; the next
        -- heartbeat clears the mark, so the next silence is reported again.
        alter table read_model.agent_connections add column disconnected_reported_at timestamptz;
        -- A disconnection is noticed by the sweeper, not applied from a stream message: it has
        -- no stream position.
        alter table read_model.audit_events
          alter column stream drop not null,
          alter column stream_seq drop not null;
      `.execute(db);
    },
  },
  "015_deleted_agents": {
    async up(db: Kysely<unknown>) {
      await sql`
        -- Streams are consumed independently, so an agent's authorization change or snapshot
        -- can be applied after its deletion arrived on the registry stream. The tombstone lets
        -- those late events leave no rows behind for an agent that no longer exists.
        create table read_model.deleted_agents (
          agent_id bigint primary key,
          deleted_at timestamptz not null
        );
      `.execute(db);
    },
  },
  "016_agent_token_revoked_at": {
    async up(db: Kysely<unknown>) {
      await sql`
        -- When the projection first saw an agent token revoked (the JetStream time of that
        -- registry message). A collector event stored after it is refused (issue 7.6); one
        -- stored before it still applies, so a replay of the log rebuilds the same rows.
        alter table read_model.agent_tokens add column revoked_at timestamptz;
        -- Collector times are clamped to the server's time from now on; a heartbeat or snapshot
        -- dated in the future before that must not keep pinning its agent.
        update read_model.agent_connections set last_heartbeat_at = now() where last_heartbeat_at > now();
        update read_model.cluster_snapshots set observed_at = now() where observed_at > now();
        update read_model.cluster_snapshot_history set observed_at = now() where observed_at > now();
      `.execute(db);
    },
  },
};
