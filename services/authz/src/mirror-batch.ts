import {
  type AuthzCommandResult,
  type Group,
  isKasmapError,
  type KasmapError,
  type KasmapEvent,
  MIRROR_REFUSAL_CODES,
} from "@kasmap/contracts";
import { type Insertable, type RawBuilder, type Selectable, sql } from "kysely";
import { mirrorClock } from "./mirror-clock.ts";
import { emitRegistryChange } from "./registry-events.ts";
import { toGroup, toProject } from "./store/entities.ts";
import { insertMirroredRows } from "./store/mirror-ids.ts";
import { anyFullPathTaken } from "./store/paths.ts";
import type { AuthzDatabase, AuthzTx } from "./store/schema.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

/** What a batch put answers (`mirror.groups.put`, `mirror.projects.put`). */
export type MirrorBatchOutcome = AuthzCommandResult<"mirror.groups.put">;
export type MirrorRefusal = MirrorBatchOutcome["refused"][number];

/** How one kind of entity is put in a batch; every step runs in the batch's unit of work. */
export type MirrorBatchSteps<T extends { id: number }> = {
  /**
   * Stamps `mirrored_at` on the entities whose stored state already is the wanted one (what the
   * single put would find unchanged, refusing nothing), in one statement; returns their ids.
   */
  stampUnchanged(unit: UnitOfWork, items: readonly T[], now: Date): Promise<Set<number>>;
  /**
   * Inserts all of `items` at once, publishing what their single puts publish, when every one is
   * new and free to insert (`insertIfAllNew`); returns false, having written nothing, otherwise.
   */
  insertAllNew(unit: UnitOfWork, items: readonly T[], now: Date): Promise<boolean>;
  /** The single put of one entity: whether anything subscribers see changed. */
  putOne(unit: UnitOfWork, item: T): Promise<boolean>;
};

/**
 * Puts `items` as their single puts would, one after another in request order, with the same
 * events, but set-based where it can: the unchanged ones stamped in one statement (they publish
 * nothing), then, when all the others are new and free to insert (the first full sync), those
 * inserted at once. Otherwise the others go through the single put one by one, each in a
 * savepoint, so an entity refused for good (`MIRROR_REFUSAL_CODES`) is rolled back alone —
 * its writes and its events — and reported; any other failure fails the batch.
 */
export async function putMirrorBatch<T extends { id: number }>(
  unit: UnitOfWork,
  items: readonly T[],
  steps: MirrorBatchSteps<T>,
): Promise<MirrorBatchOutcome> {
  const now = await mirrorClock(unit.tx);
  const unchanged = await steps.stampUnchanged(unit, items, now);
  const rest = items.filter((item) => !unchanged.has(item.id));
  if (rest.length === 0 || (await steps.insertAllNew(unit, rest, now))) {
    return { changed: rest.map((item) => item.id), refused: [] };
  }
  const outcome: MirrorBatchOutcome = { changed: [], refused: [] };
  for (const item of rest) {
    const put = await refusalOr(unit, (itemUnit) => steps.putOne(itemUnit, item));
    if (put.refusal) outcome.refused.push({ id: item.id, ...put.refusal });
    else if (put.result) outcome.changed.push(item.id);
  }
  return outcome;
}

type Attempt<R> = { result: R; refusal: null } | { result: null; refusal: Omit<MirrorRefusal, "id"> };

/**
 * Runs `work` in a savepoint with its events held back: kept when it succeeds, both rolled back
 * when it is refused for good (the refusal is returned); any other error is thrown.
 */
async function refusalOr<R>(unit: UnitOfWork, work: (unit: UnitOfWork) => Promise<R>): Promise<Attempt<R>> {
  const events: KasmapEvent[] = [];
  await sql`savepoint mirror_item`.execute(unit.tx);
  try {
    const result = await work({ ...unit, emit: (event) => events.push(event) });
    await sql`release savepoint mirror_item`.execute(unit.tx);
    for (const event of events) unit.emit(event);
    return { result, refusal: null };
  } catch (error) {
    const refusal = permanentRefusal(error);
    if (refusal === null) throw error;
    await sql`rollback to savepoint mirror_item`.execute(unit.tx);
    return { result: null, refusal: { code: refusal.code, message: refusal.message } };
  }
}

function permanentRefusal(error: unknown): (KasmapError & { code: MirrorRefusal["code"] }) | null {
  for (const code of MIRROR_REFUSAL_CODES) {
    if (isKasmapError(error, code)) return error as KasmapError & { code: typeof code };
  }
  return null;
}

type BatchTable = "authz.groups" | "authz.projects";
type NewRow<T extends BatchTable> = Insertable<AuthzDatabase[T]> & { id: number };

/** Per table: a new row's full path, and the event its single put publishes for it. */
const NEW_ROWS: {
  [T in BatchTable]: {
    fullPath(row: NewRow<T>): string;
    announce(unit: UnitOfWork, row: Selectable<AuthzDatabase[T]>): void;
  };
} = {
  "authz.groups": {
    fullPath: (row) => row.full_path,
    announce: (unit, row) => emitRegistryChange(unit, "group", toGroup(row)),
  },
  "authz.projects": {
    fullPath: (row) => row.path_with_namespace,
    announce: (unit, row) => emitRegistryChange(unit, "project", toProject(row)),
  },
};

/**
 * Inserts `rows` (GitLab's ids) at once, publishing each as its single put does, when the single
 * puts would do just that for every one: none of the ids is stored yet, the full paths are
 * distinct (case-insensitively), no group or project has one (else `validation_failed`), and no
 * live agent's config names one (else that agent is re-resolved). Returns false, having written
 * nothing, otherwise.
 */
export async function insertIfAllNew<T extends BatchTable>(
  unit: UnitOfWork,
  table: T,
  rows: NewRow<T>[],
): Promise<boolean> {
  // The entry of `table`; TypeScript cannot pair a mapped type's entry with a generic key.
  const newRows = NEW_ROWS[table] as unknown as (typeof NEW_ROWS)[T];
  const ids = rows.map((row) => row.id);
  // Either table has an `id`; Kysely cannot follow a generic table name.
  const stored = await unit.tx
    .selectFrom(table as "authz.groups")
    .select("id")
    .where("id", "in", ids)
    .executeTakeFirst();
  if (stored !== undefined) return false;
  if (
    !(await pathsFreeAndUnnamed(
      unit.tx,
      rows.map((row) => newRows.fullPath(row)),
    ))
  )
    return false;
  for (const row of await insertMirroredRows(unit.tx, table, rows)) newRows.announce(unit, row);
  return true;
}

/** The namespaces (groups and personal namespaces) of these ids that are stored, by id. */
export async function storedNamespaces(tx: AuthzTx, ids: readonly number[]): Promise<Map<number, Group>> {
  const distinct = [...new Set(ids)];
  if (distinct.length === 0) return new Map();
  const rows = await tx.selectFrom("authz.groups").selectAll().where("id", "in", distinct).execute();
  return new Map(rows.map((row) => [row.id, toGroup(row)]));
}

async function pathsFreeAndUnnamed(tx: AuthzTx, fullPaths: readonly string[]): Promise<boolean> {
  const lowered = fullPaths.map((path) => path.toLowerCase());
  if (new Set(lowered).size !== lowered.length) return false;
  if (await anyFullPathTaken(tx, lowered)) return false;
  const named = await tx
    .selectFrom("authz.agent_config_paths as c")
    .innerJoin("authz.agents as a", "a.id", "c.agent_id")
    .select("c.agent_id")
    .where("a.deleted_at", "is", null)
    .where("c.lower_path", "=", sql<string>`any(${sql.val(lowered)}::text[])`)
    .limit(1)
    .executeTakeFirst();
  return named === undefined;
}

/** Runs a stamping statement (`… returning id`); the ids it stamped. */
export async function stampedIds(tx: AuthzTx, statement: RawBuilder<{ id: number }>): Promise<Set<number>> {
  const { rows } = await statement.execute(tx);
  return new Set(rows.map((row) => Number(row.id)));
}
