import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- Collector tokens (issue 9 item 5) are agent credentials of kind 'collector', projected
      -- from the same agent_token events; rows of earlier events were agent tokens. A collector
      -- token counts as the agent's token for its collector's events (collector-standing.ts).
      alter table read_model.agent_tokens
        add column kind text not null default 'agent' check (kind in ('agent', 'collector'));
    `.execute(db);
}
