import {
  createPrivatePostgres,
  createPrivateReplica,
  createRoundRobinProxy,
  type PrivatePostgres,
  queryOnce,
  type RoundRobinProxy,
  replayedEverything,
  setReplay,
} from "@kasmap/testing/private-servers";
import { type KasmapSystem, ok, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue 12: `DATABASE_READ_URL` naming a service that spreads connections over SEVERAL standbys
 * (CloudNativePG's `<cluster>-ro`, which the README's deployment uses: with 3 instances, 2
 * standbys). Emulated with a TCP proxy that hands each new connection to the next of two REAL
 * streaming replicas in turn, as kube-proxy does. One standby's replay is paused: a read must
 * still never answer older than a write the gateway acknowledged, whichever standby its pooled
 * connection happens to reach.
 */
let primary: PrivatePostgres;
let standbys: PrivatePostgres[] = [];
let proxy: RoundRobinProxy;
let system: KasmapSystem;

beforeAll(async () => {
  primary = await createPrivatePostgres();
  standbys = [await createPrivateReplica(primary), await createPrivateReplica(primary)];
  proxy = await createRoundRobinProxy(standbys);
  system = await startKasmapSystem({
    databaseUrl: primary.url,
    gateway: { databaseReadUrl: proxy.url },
  });
}, 180_000);

afterAll(async () => {
  await system?.stop();
  proxy?.close();
  for (const standby of standbys) await standby.destroy();
  await primary?.destroy();
});

describe("gateway reads from standbys behind one balancing address", () => {
  it("never answers older than an acknowledged write, whichever standby a pooled connection reaches", async () => {
    const [lagging, current] = standbys as [PrivatePostgres, PrivatePostgres];
    // A group by id is read from the database on every call (no cache in front of it).
    const group = (id: number) => system.call("GET", `/api/v4/groups/${id}`, system.adminToken);
    for (const standby of standbys) await replayedEverything(primary, standby);
    // Concurrent reads open several pooled connections, spread over both standbys.
    await Promise.all(
      Array.from({ length: 24 }, () => system.call("GET", "/api/v4/groups", system.adminToken)),
    );
    expect(proxy.connections.every((n) => n > 0)).toBe(true);

    await setReplay(lagging, true);
    try {
      for (let round = 0; round < 8; round++) {
        const created = await ok<{ id: number }>(
          system.call("POST", "/api/v4/groups", system.adminToken, { name: `G${round}`, path: `g-${round}` }),
          201,
        );
        // Acknowledged: every read from now on sees the group, on whichever connection — also
        // once the gateway has found a caught-up standby (reads spread over a few turns).
        for (let turn = 0; turn < 4; turn++) {
          const statuses = await Promise.all(
            Array.from({ length: 16 }, async () => (await group(created.id)).status),
          );
          expect(statuses).toEqual(Array(16).fill(200));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      // The paused standby really is behind: a read routed to it would have answered 404.
      const [onLagging] = await queryOnce<{ n: string }>(
        lagging.url,
        "select count(*) as n from read_model.groups where path like 'g-%'",
      );
      expect(Number(onLagging?.n)).toBe(0);
    } finally {
      await setReplay(lagging, false);
    }
    await replayedEverything(primary, lagging);
    await replayedEverything(primary, current);
  });
});
