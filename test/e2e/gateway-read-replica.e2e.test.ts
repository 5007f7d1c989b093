import { eventually } from "@kasmap/testing/harness";
import {
  createPrivatePostgres,
  createPrivateReplica,
  type PrivatePostgres,
  queryOnce,
  replayedEverything,
  setReplay,
} from "@kasmap/testing/private-servers";
import { type KasmapSystem, ok, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue 12: the gateway reads from a PostgreSQL streaming replica (`DATABASE_READ_URL`) without
 * serving older data than a write it acknowledged. A private primary with a REAL replica
 * (`pg_basebackup -R -X stream`, hot standby); the replica's replay is paused to hold it behind.
 */
let primary: PrivatePostgres;
let replica: PrivatePostgres;
let system: KasmapSystem;

const replicaCaughtUp = () => replayedEverything(primary, replica);
const setReplicaReplay = (paused: boolean) => setReplay(replica, paused);

beforeAll(async () => {
  primary = await createPrivatePostgres();
  replica = await createPrivateReplica(primary);
  system = await startKasmapSystem({ databaseUrl: primary.url, gateway: { databaseReadUrl: replica.url } });
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await replica?.destroy();
  await primary?.destroy();
});

describe("gateway reads from a streaming replica", () => {
  it("reads the replica while it is caught up, and never answers older than an acknowledged write", async () => {
    const group = (id: number) => system.call("GET", `/api/v4/groups/${id}`, system.adminToken);
    await replicaCaughtUp();
    await setReplicaReplay(true);
    try {
      // A row the gateway never acknowledged, written behind its back: while the replica holds
      // its older state and this gateway acknowledged nothing newer, reads go there (404).
      const [row] = await queryOnce<{ id: number }>(
        primary.url,
        `insert into read_model.groups (id, name, path, description, parent_id, traversal_ids, full_path, full_name, created_at)
         values (900001, 'Behind', 'behind', null, null, '{900001}', 'behind', 'Behind', now()) returning id`,
      );
      await eventually(
        async () => ((await group(row?.id ?? 0)).status === 404 ? true : undefined),
        "a read from the replica",
      );

      // A write through the gateway: once acknowledged, every read answers at least as new as
      // it, though the replica is still paused behind it (the primary answers).
      const created = await ok<{ id: number }>(
        system.call("POST", "/api/v4/groups", system.adminToken, {
          name: "Acknowledged",
          path: "acknowledged",
        }),
        201,
      );
      expect((await group(created.id)).status).toBe(200);
      expect((await group(row?.id ?? 0)).status).toBe(200);
      const [onReplica] = await queryOnce<{ n: string }>(
        replica.url,
        "select count(*) as n from read_model.groups where id = $1",
        [created.id],
      );
      expect(Number(onReplica?.n)).toBe(0);
    } finally {
      await setReplicaReplay(false);
    }
    await replicaCaughtUp();
  });
});
