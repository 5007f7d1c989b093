import { type Kysely, type Migration, sql } from "kysely";

export const outboxSetAsideAndDroppedCountMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // An outbox row that can never be published (over NATS max_payload, or no longer a
    // valid event) is set aside with the reason instead of blocking every row behind it.
    // `dropped_count`: stored configs keep only the first 100 dropped entries, and the count.
    await sql`
      alter table authz.outbox add column set_aside_at timestamptz, add column set_aside_reason text;
      drop index authz.outbox_unpublished;
      create index outbox_pending on authz.outbox (id) where published_at is null and set_aside_at is null;
      -- Counted for metrics on every scrape: both counts must not scan the published history.
      create index outbox_set_aside on authz.outbox (id) where set_aside_at is not null;
      alter table authz.agent_configs add column dropped_count integer;
      update authz.agent_configs set dropped_count = jsonb_array_length(dropped);
      alter table authz.agent_configs alter column dropped_count set not null;
    `.execute(db);
  },
};
