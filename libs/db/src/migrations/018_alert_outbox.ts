import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- The projection's outbox (issue 11): each alert it raises (io.kasmap.alert.*) is written
      -- here in the transaction of its audit event and published to the alerts stream by the
      -- relay (@kasmap/runtime/outbox), so a crash or a NATS outage between commit and publish
      -- loses no alert. The columns are the outbox's (as authz.outbox) plus the alert's
      -- CloudEvent id: a re-applied or replayed audit event (a rebuild) raises no second alert.
      -- A rebuild keeps this table: what was published stays published.
      create table read_model.alert_outbox (
        id bigint generated always as identity primary key,
        event_id text not null unique,
        agent_id bigint not null,
        event jsonb not null,
        created_at timestamptz not null default now(),
        published_at timestamptz,
        stream text,
        seq bigint,
        set_aside_at timestamptz,
        set_aside_reason text
      );
      create index alert_outbox_pending on read_model.alert_outbox (id)
        where published_at is null and set_aside_at is null;
      create index alert_outbox_set_aside on read_model.alert_outbox (id) where set_aside_at is not null;
    `.execute(db);
}
