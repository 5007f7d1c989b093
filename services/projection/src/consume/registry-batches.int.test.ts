import type { CheckpointedEvent } from "@kasmap/bus";
import { isKasmapError, type KasmapEvent, type ReadModelNotice } from "@kasmap/contracts";
import { migrateReadModel } from "@kasmap/db";
import { seededRandom } from "@kasmap/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entityUpsertOf, upsertEntityRows } from "../apply/apply-registry-event.ts";
import { dedupeChangeNotices } from "../notify/change-notices.ts";
import { createProjectionTestContext, type ProjectionTestContext } from "../testing/projection-context.ts";
import { projectBatch } from "./projection-consumer.ts";

/**
 * Registry upserts applied set-based (runs of one table's rows, `upsertEntityRows`) leave the
 * read model and the notices exactly as the same events applied one per batch. Two read models
 * (two test worlds) get the same events.
 */
let oneByOne: ProjectionTestContext;
let batched: ProjectionTestContext;

beforeAll(async () => {
  [oneByOne, batched] = await Promise.all([
    createProjectionTestContext("registry-batches-one-by-one"),
    createProjectionTestContext("registry-batches-batched"),
  ]);
  await Promise.all([migrateReadModel(oneByOne.db), migrateReadModel(batched.db)]);
});

afterAll(async () => {
  await Promise.all([oneByOne?.dispose(), batched?.dispose()]);
});

/**
 * 800 registry events: groups renamed, projects created, renamed, moved between groups (long
 * runs of them, as a group move or a GitLab sync writes) and removed, users, memberships added
 * and removed, personal access tokens, jobs, and agents in between (applied one by one).
 */
function registryStream(ctx: ProjectionTestContext): KasmapEvent[] {
  const e = ctx.events;
  const next = seededRandom(5);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
  const groups = [1, 2, 3, 4];
  const events: KasmapEvent[] = [...groups.map((id) => e.group(id)), e.user(1), e.user(2)];
  for (let i = 0; i < 800; i++) {
    const roll = next();
    if (roll < 0.55) {
      // A project, often several in a row; the same project may appear twice in one run.
      const project = e.project(10 + Math.floor(next() * 40), pick(groups));
      project.data.project.name = `name-${i}`;
      if (next() < 0.2) project.data.project.creator_id = null;
      // Two projects may claim one path: the read model refuses the second (a dead letter),
      // and a batch holding both is refused whole and applied event by event.
      if (next() < 0.1) project.data.project.path_with_namespace = pick(["taken/a", "taken/b"]);
      if (next() < 0.05) project.data.project.deleted_at = "2026-06-01T00:00:00.000Z";
      events.push(project);
    } else if (roll < 0.65) {
      events.push(e.group(pick(groups), `renamed-${i}`));
    } else if (roll < 0.75) {
      // One membership per user and group, as GitLab keeps them.
      const [userId, groupId] = [pick([1, 2]), pick(groups)];
      events.push(
        e.membership({
          id: 100 + userId * 10 + groupId,
          user_id: userId,
          source_type: "group",
          source_id: groupId,
          access_level: next() < 0.2 ? null : pick([10, 30, 50] as const),
        }),
      );
    } else if (roll < 0.85) {
      events.push(
        e.personalAccessToken(200 + Math.floor(next() * 5), pick([1, 2]), pick([null, "2027-01-31"])),
      );
    } else if (roll < 0.95) {
      events.push(e.job(300 + Math.floor(next() * 10), 10 + Math.floor(next() * 40)));
    } else {
      events.push(e.agent(400 + Math.floor(next() * 5), 10 + Math.floor(next() * 40)));
    }
  }
  return events;
}

async function applyInBatches(
  ctx: ProjectionTestContext,
  events: readonly KasmapEvent[],
  sizes: () => number,
): Promise<{ notices: ReadModelNotice[]; refused: number[] }> {
  const stream = ctx.topology.streamNames.registry;
  const items = events.map(
    (event, i): CheckpointedEvent => ({
      event,
      meta: { stream, seq: i + 1, subject: event.subject, deliveryCount: 1, storedAt: new Date(), bytes: 0 },
    }),
  );
  const apply = (batch: CheckpointedEvent[], lastSeq: number) =>
    projectBatch(ctx.db, ctx.topology, "projection-registry", stream, batch, lastSeq);
  const notices: ReadModelNotice[] = [];
  const refused: number[] = [];
  for (let i = 0; i < items.length; ) {
    const batch = items.slice(i, i + sizes());
    i += batch.length;
    try {
      notices.push(...(await apply(batch, batch.at(-1)?.meta.seq ?? 0)));
    } catch (error) {
      if (!isKasmapError(error, "poison_event")) throw error;
      // As the checkpointed consumer does: each event alone; one refused alone is dead-lettered.
      for (const item of batch) {
        try {
          notices.push(...(await apply([item], item.meta.seq)));
        } catch (alone) {
          if (!isKasmapError(alone, "poison_event")) throw alone;
          refused.push(item.meta.seq);
          await apply([], item.meta.seq);
        }
      }
    }
  }
  return { notices, refused };
}

async function readModelOf(ctx: ProjectionTestContext) {
  const table = async (name: string) =>
    (await sql`select * from ${sql.table(`read_model.${name}`)} order by id`.execute(ctx.db)).rows;
  return {
    groups: await table("groups"),
    projects: await table("projects"),
    users: await table("users"),
    memberships: await table("memberships"),
    tokens: await table("personal_access_tokens"),
    jobs: await table("jobs"),
    agents: await table("agents"),
  };
}

describe("registry events applied in batches", () => {
  it("leave the same rows and notices as one event per batch", async () => {
    const events = registryStream(oneByOne);
    const sizes = seededRandom(9);
    const [one, many] = await Promise.all([
      applyInBatches(oneByOne, events, () => 1),
      applyInBatches(batched, events, () => 1 + Math.floor(sizes() * 200)),
    ]);
    const expected = await readModelOf(oneByOne);
    // Not vacuous: projects were kept and removed, memberships removed.
    expect(expected.projects.length).toBeGreaterThan(20);
    expect(expected.projects.length).toBeLessThan(40);
    expect(expected.memberships.length).toBeLessThan(10);
    expect(one.refused.length).toBeGreaterThan(0);
    expect(many.refused).toEqual(one.refused);
    expect(await readModelOf(batched)).toEqual(expected);
    const latest = (notices: ReadModelNotice[]) =>
      dedupeChangeNotices(notices).map(({ stream: _, ...n }) => n);
    expect(latest(many.notices)).toEqual(latest(one.notices));
  });

  it("upserts more rows than one statement may carry (PostgreSQL's 65,535 parameters)", async () => {
    const rows = Array.from({ length: 8_000 }, (_, i) => {
      const row = entityUpsertOf(batched.events.project(100_000 + i, 1))?.row;
      if (!row) throw new Error("a project is an entity upsert");
      return row;
    });
    await batched.db.transaction().execute((trx) => upsertEntityRows(trx, "read_model.projects", rows));
    const { rows: counted } = await sql<{ n: string }>`
      select count(*) as n from read_model.projects where id >= 100000`.execute(batched.db);
    expect(Number(counted[0]?.n)).toBe(8_000);
  });
});
