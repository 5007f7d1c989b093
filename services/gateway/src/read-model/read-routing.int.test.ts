import { createServer, type Socket } from "node:net";
import { createPool, databaseOverPool, markingConnectionFailures, type ReadModelDatabase } from "@kasmap/db";
import {
  createPrivatePostgres,
  createPrivateReplica,
  createRoundRobinProxy,
  type PrivatePostgres,
  type RoundRobinProxy,
  replayedEverything,
  setReplay,
} from "@kasmap/testing/private-servers";
import { type Kysely, sql } from "kysely";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replicaRouting } from "./read-routing.ts";

/**
 * `replicaRouting` against a real primary and two real streaming standbys behind one balancing
 * address (`createRoundRobinProxy`): the replica pool's two connections reach one standby each.
 * With one standby paused behind a write the gateway acknowledged, the read on its connection
 * must go to the primary, the one on the caught-up standby's may stay there.
 */
let primaryServer: PrivatePostgres;
let standbys: PrivatePostgres[] = [];
let proxy: RoundRobinProxy;
let primary: Kysely<ReadModelDatabase>;
let replicaPool: pg.Pool;

beforeAll(async () => {
  primaryServer = await createPrivatePostgres();
  standbys = [await createPrivateReplica(primaryServer), await createPrivateReplica(primaryServer)];
  proxy = await createRoundRobinProxy(standbys);
  const primaryPool = markingConnectionFailures(createPool({ url: primaryServer.url }));
  primary = databaseOverPool<ReadModelDatabase>(primaryPool);
  await sql`create table written (id int primary key)`.execute(primary);
  for (const standby of standbys) await replayedEverything(primaryServer, standby);
  replicaPool = createPool({ url: proxy.url, max: 2 });
  // Two connections, opened in turn: the first reaches standby 0, the second standby 1.
  const first = await replicaPool.connect();
  const second = await replicaPool.connect();
  first.release();
  second.release();
  expect(proxy.connections).toEqual([1, 1]);
}, 120_000);

afterAll(async () => {
  await replicaPool?.end();
  await primary?.destroy();
  proxy?.close();
  for (const standby of standbys) await standby.destroy();
  await primaryServer?.destroy();
});

describe("replicaRouting over standbys behind one address", () => {
  it("sends each read to the primary when its connection's standby is behind an acknowledged write", async () => {
    const [, lagging] = standbys as [PrivatePostgres, PrivatePostgres];
    const primaryPool = markingConnectionFailures(createPool({ url: primaryServer.url }));
    const routing = replicaRouting(databaseOverPool(primaryPool), primaryPool, replicaPool, 0);
    await setReplay(lagging, true);
    try {
      await sql`insert into written values (1)`.execute(primary);
      await routing.recordWrite();
      for (let round = 0; round < 10; round++) {
        // Two reads at once hold both pooled connections: one per standby.
        const seen = await Promise.all(
          [0, 1].map(async () => {
            const { rows } = await sql<{ n: number }>`
              select count(*)::int as n from written, pg_sleep(0.02)`.execute(routing.current());
            return rows[0]?.n;
          }),
        );
        expect(seen).toEqual([1, 1]);
      }
      // The caught-up standby served reads; the paused one's connection never did.
      expect(routing.counts.replica).toBeGreaterThan(0);
      expect(routing.counts.primary).toBeGreaterThan(0);
      expect(proxy.connections).toEqual([1, 1]);
    } finally {
      await setReplay(lagging, false);
      await primaryPool.end();
    }
  });
});

describe("replicaRouting with a replica that accepts connections and never answers", () => {
  it("reads the primary at once instead of waiting on the replica's connect timeout", {
    timeout: 20_000,
  }, async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    // A connect timeout far beyond the test's: a read that waited on this replica would hang it.
    const hanging = createPool({
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      connectTimeoutMs: 60_000,
    });
    const primaryPool = markingConnectionFailures(createPool({ url: primaryServer.url }));
    const routing = replicaRouting(databaseOverPool(primaryPool), primaryPool, hanging);
    try {
      for (let i = 0; i < 20; i++) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from written`.execute(
          routing.current(),
        );
        expect(rows[0]?.n).toBeGreaterThanOrEqual(0);
      }
      expect(routing.counts).toEqual({ replica: 0, primary: 20 });
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await primaryPool.end();
      await hanging.end().catch(() => {});
    }
  });
});
