import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { createDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createOutboxPublisher,
  type OutboxPublisherOptions,
  type OutboxTable,
  outboxStatusOf,
  PRUNE_BATCH,
} from "./transactional-outbox.ts";

/**
 * Published outbox rows are deleted once older than the retention; pending and set-aside rows
 * never are, so what the readers of the table rely on (the pending and set-aside counts of the
 * readiness check and the gauges, the positions of a command's own rows, a row acked but not yet
 * marked) answers the same after a prune. A table of the outbox's columns in this file's
 * database, published to this file's streams.
 */
const world = testWorldForFile({ name: "transactional-outbox-pruning" });
const logger = createLogger("transactional-outbox-pruning", "silent");
const TABLE: OutboxTable = { name: "test_outbox.outbox", lock: { classId: 0x7465, key: 1 } };
const HOUR_MS = 60 * 60 * 1_000;
let db: Kysely<unknown>;

beforeAll(async () => {
  db = createDatabase<unknown>({ url: world.database.url, max: 4 });
  await sql`create schema test_outbox`.execute(db);
  await sql`
    create table test_outbox.outbox (
      id bigint generated always as identity primary key, event jsonb not null,
      created_at timestamptz not null default now(), published_at timestamptz, stream text, seq bigint,
      set_aside_at timestamptz, set_aside_reason text
    );
    create index outbox_pending on test_outbox.outbox (id) where published_at is null and set_aside_at is null;
    create index outbox_set_aside on test_outbox.outbox (id) where set_aside_at is not null`.execute(db);
});

afterAll(async () => {
  await db?.destroy();
});

beforeEach(async () => {
  await sql`truncate test_outbox.outbox`.execute(db);
});

function publisher(options: OutboxPublisherOptions = {}) {
  return createOutboxPublisher(db, world.bus, logger, TABLE, options);
}

/** A registry event with a fresh id (`Nats-Msg-Id`). */
function userChanged(userId: number) {
  return newKasmapEvent({
    type: EVENT_TYPES.userChanged,
    source: "/kasmap/test",
    subject: world.topology.subjects.registryChanged("user", userId),
    data: {
      user: {
        id: userId,
        username: `u${userId}`,
        name: `U ${userId}`,
        is_admin: false,
        state: "active",
        created_at: new Date().toISOString(),
      },
      actor_user_id: null,
    },
  });
}

async function queue(count: number): Promise<number[]> {
  const events = Array.from({ length: count }, (_, i) => JSON.stringify(userChanged(i + 1)));
  const { rows } = await sql<{ id: number }>`
    insert into test_outbox.outbox (event) select unnest(${events}::jsonb[]) returning id`.execute(db);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** Rows as if published `ageMs` ago to position `seq` (nothing sent to NATS). */
async function insertPublished(count: number, ageMs: number): Promise<number[]> {
  const ids = await queue(count);
  await sql`update test_outbox.outbox set published_at = now() - make_interval(secs => ${ageMs / 1_000}::float8),
      stream = 'S', seq = id
    where id = any(${ids}::bigint[])`.execute(db);
  return ids;
}

async function backdate(ids: number[], ageMs: number): Promise<void> {
  await sql`update test_outbox.outbox set published_at = now() - make_interval(secs => ${ageMs / 1_000}::float8)
    where id = any(${ids}::bigint[])`.execute(db);
}

async function remainingIds(): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`select id from test_outbox.outbox order by id`.execute(db);
  return rows.map((r) => Number(r.id));
}

async function registryMessages(): Promise<number> {
  const info = await world.bus.jsm.streams.info(world.topology.streamNames.registry);
  return info.state.messages;
}

describe("pruning published outbox rows", () => {
  it("deletes the published rows older than the retention and keeps recent, pending and set-aside rows", async () => {
    const old = await insertPublished(3, 2 * HOUR_MS);
    const recent = await insertPublished(2, 10 * 60 * 1_000);
    const [oldPending] = await queue(1);
    const [setAside] = await queue(1);
    await sql`update test_outbox.outbox set created_at = now() - interval '3 hours' where id = ${oldPending}`.execute(
      db,
    );
    await sql`update test_outbox.outbox set set_aside_at = now() - interval '3 hours', set_aside_reason = 'too large'
      where id = ${setAside}`.execute(db);
    const before = await outboxStatusOf(db, TABLE);

    expect(await publisher({ retentionMs: HOUR_MS }).prunePublished()).toBe(old.length);

    expect(await remainingIds()).toEqual([...recent, oldPending, setAside]);
    // The gateway's readiness check and the gauges read only pending and set-aside rows.
    const after = await outboxStatusOf(db, TABLE);
    expect(after).toEqual({ ...before, oldest_pending_age_seconds: expect.any(Number) });
    expect(after).toMatchObject({ pending: 1, set_aside: 1 });
    expect(after.oldest_pending_age_seconds).toBeGreaterThan(3 * 3600 - 60);
  });

  it("keeps every row with an infinite retention", async () => {
    const ids = await insertPublished(3, 1_000 * HOUR_MS);
    expect(await publisher({ retentionMs: Number.POSITIVE_INFINITY }).prunePublished()).toBe(0);
    expect(await remainingIds()).toEqual(ids);
  });

  it("deletes a backlog of several batches, also when two pruners run at once", async () => {
    const old = await insertPublished(2 * PRUNE_BATCH + 500, 2 * HOUR_MS);
    const recent = await insertPublished(5, 0);
    const pruned = await Promise.all([publisher().prunePublished(), publisher().prunePublished()]);
    expect(pruned[0] + pruned[1]).toBe(old.length);
    expect(await remainingIds()).toEqual(recent);
  });

  it("still gives a command the positions of its rows published within the retention", async () => {
    const outbox = publisher({ retentionMs: HOUR_MS });
    const ids = await queue(2);
    await outbox.flush();
    const positions = await outbox.positionsOf(ids);
    expect(positions).toHaveLength(2);
    await insertPublished(2, 2 * HOUR_MS);
    expect(await outbox.prunePublished()).toBe(2);
    expect(await outbox.positionsOf(ids)).toEqual(positions);
  });

  it("keeps a row acked but not marked published (a crash), which is then published once", async () => {
    const outbox = publisher({ retentionMs: HOUR_MS });
    const ids = await queue(3);
    await outbox.flush();
    const messages = await registryMessages();
    const crashed = ids.at(-1) ?? 0;
    // The server stored every row; the process died before marking the last. The others are old.
    await backdate(ids.slice(0, -1), 2 * HOUR_MS);
    await sql`update test_outbox.outbox set published_at = null, stream = null, seq = null
      where id = ${crashed}`.execute(db);

    expect(await outbox.prunePublished()).toBe(2);
    expect(await remainingIds()).toEqual([crashed]);

    await outbox.flush();
    expect(await registryMessages()).toBe(messages);
    expect(await outboxStatusOf(db, TABLE)).toMatchObject({ pending: 0, set_aside: 0 });
    const [position] = await outbox.positionsOf([crashed]);
    const stored = await world.bus.jsm.streams.getMessage(position?.stream ?? "", {
      seq: position?.seq ?? 0,
    });
    const [row] = (
      await sql<{
        event: { id: string };
      }>`select event from test_outbox.outbox where id = ${crashed}`.execute(db)
    ).rows;
    expect(stored?.header?.get("Nats-Msg-Id")).toBe(row?.event.id);
  });

  it("the relay prunes every pruneIntervalMs, and stops", async () => {
    const old = await insertPublished(3, 2 * HOUR_MS);
    const [pending] = await queue(1);
    const relay = publisher({ retentionMs: HOUR_MS, pruneIntervalMs: 50 }).startRelay(50);
    try {
      await eventually(async () => {
        const ids = await remainingIds();
        return ids.length === 1 && ids[0] === pending ? ids : undefined;
      }, "the old rows pruned, the pending one published and kept");
    } finally {
      await relay.stop();
    }
    expect(old).toHaveLength(3);
    expect(await outboxStatusOf(db, TABLE)).toMatchObject({ pending: 0 });
  });

  it("refuses a retention or a prune interval that is not positive", () => {
    expect(() => publisher({ retentionMs: 0 })).toThrow(RangeError);
    expect(() => publisher({ pruneIntervalMs: Number.NaN })).toThrow(RangeError);
  });
});
