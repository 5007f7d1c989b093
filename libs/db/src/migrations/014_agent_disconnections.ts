import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
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
}
