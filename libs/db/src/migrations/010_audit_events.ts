import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
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
}
