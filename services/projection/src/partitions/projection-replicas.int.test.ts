import { type Bus, connectBus, publishEvent } from "@kasmap/bus";
import { appliedStreamPositions } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { buildClusterFacts } from "@kasmap/testing";
import { eventually, testNatsUrl } from "@kasmap/testing/harness";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { allStreamsApplied, lastSeq } from "../testing/stream-positions.ts";
import { projectionUnits } from "./projection-units.ts";

const ctx = projectionContextForFile("projection-replicas-int-test");

const PARTITIONS = 3;
const AGENTS = 40;
/** Snapshots per agent, each with another cluster name: the audit log chains them. */
const SNAPSHOTS_PER_AGENT = 6;
const UNIT_COUNT = projectionUnits(PARTITIONS).length;
/** Generous: the machine is shared; the takeover itself is reported, not asserted on. */
const WAIT_TIMEOUT_MS = 90_000;

type Replica = { id: string; bus: Bus; service: ProjectionService };
const replicas: Replica[] = [];

afterAll(async () => {
  for (const replica of replicas) {
    await replica.service.stop();
    await replica.bus.close().catch(() => {});
  }
});

/** A replica with its own NATS connection, database pool and lease session. */
async function startReplica(id: string): Promise<Replica> {
  const bus = await connectBus({ url: testNatsUrl(), name: `projection-${id}`, topology: ctx.topology });
  const service = await startProjectionService({
    bus,
    databaseUrl: ctx.database.url,
    logger: createLogger("projection", "silent"),
    partitions: PARTITIONS,
    replicaId: id,
    leasePollMs: 200,
  });
  const replica = { id, bus, service };
  replicas.push(replica);
  return replica;
}

/**
 * What a crash does to a replica, without any graceful release (in this file's database only:
 * other test runs on the server may name their replicas alike): PostgreSQL ends its sessions
 * (the lease session with its advisory locks, and its pool's connections) and its NATS
 * connection closes under its consumers.
 */
async function kill(replica: Replica): Promise<void> {
  await replica.bus.nc.close();
  await sql`
    select pg_terminate_backend(pid) from pg_stat_activity
     where application_name in (${`kasmap-projection:${replica.id}`}, ${`kasmap-projection-leases:${replica.id}`})
       and datname = current_database()
  `.execute(ctx.db);
}

/** Resolves once `live` together run every unit exactly once. */
async function unitsSharedBy(live: Replica[], what: string): Promise<string[][]> {
  return eventually(
    () => {
      const held = live.map((r) => r.service.held());
      const all = held.flat();
      return all.length === UNIT_COUNT && new Set(all).size === UNIT_COUNT && held.every((h) => h.length > 0)
        ? held
        : undefined;
    },
    what,
    WAIT_TIMEOUT_MS,
  );
}

function cluster(version: number) {
  return buildClusterFacts({ cluster_name: `v${version}`, node_count: version });
}

async function registerAgents(): Promise<void> {
  const e = ctx.events;
  for (let agent = 1; agent <= AGENTS; agent++) {
    await publishEvent(ctx.bus, e.group(agent));
    await publishEvent(ctx.bus, e.project(agent * 10, agent));
    await publishEvent(ctx.bus, e.agent(agent, agent * 10));
    await publishEvent(ctx.bus, e.agentToken(agent, agent));
  }
}

/** One snapshot (version `version`) and one heartbeat per agent; returns the snapshots' sequences. */
async function publishRound(version: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let agent = 1; agent <= AGENTS; agent++) {
    seqs.push((await publishEvent(ctx.bus, ctx.events.snapshot(agent, cluster(version)))).seq);
    await publishEvent(ctx.bus, ctx.events.heartbeat(agent, new Date().toISOString()));
  }
  return seqs;
}

describe("projection replicas", () => {
  it("share the partitions, take over a killed replica's within seconds, and apply every event once, in order per agent", {
    timeout: 300_000,
  }, async () => {
    const [a, b, c] = [await startReplica("a"), await startReplica("b"), await startReplica("c")];
    await unitsSharedBy([a, b, c], "three replicas share every unit");
    await registerAgents();

    // The load runs on while a replica is killed and its units are taken over.
    const load = (async () => {
      const seqs: number[] = [];
      for (let version = 1; version <= SNAPSHOTS_PER_AGENT; version++)
        seqs.push(...(await publishRound(version)));
      return seqs;
    })();
    const registered = await lastSeq(ctx, "cluster");
    await eventually(
      async () =>
        (await lastSeq(ctx, "cluster")) >= registered + (AGENTS * SNAPSHOTS_PER_AGENT) / 3 || undefined,
      "a third of the load published",
      WAIT_TIMEOUT_MS,
    );
    // The victim holds a cluster partition, so some of the load is left for its successor.
    const victim =
      [a, b, c].find((r) => r.service.held().some((u) => u.startsWith("projection-cluster["))) ?? a;
    const victimUnits = victim.service.held();
    await kill(victim);
    const killedAt = Date.now();
    const survivors = [a, b, c].filter((r) => r !== victim);
    const takeover = await unitsSharedBy(survivors, "the survivors take over the killed replica's units");
    // Reported, not asserted (a loaded machine): the poll is 200 ms, so normally well under 1 s.
    console.info(`takeover of ${victimUnits.join(", ")} by the survivors in ${Date.now() - killedAt} ms`);
    expect(takeover.flat().sort()).toEqual(
      projectionUnits(PARTITIONS)
        .map((u) => u.label)
        .sort(),
    );
    const published = await load;
    await eventually(() => allStreamsApplied(ctx), "every stream applied by the survivors", WAIT_TIMEOUT_MS);

    // Every snapshot exactly once in the history (its key is the stream sequence).
    const history = await ctx.db
      .selectFrom("read_model.cluster_snapshot_history")
      .select(["agent_id", "stream_seq"])
      .orderBy("stream_seq")
      .execute();
    expect(history.map((h) => h.stream_seq)).toEqual([...published].sort((x, y) => x - y));

    // Applied in order per agent: each audit row (one per snapshot, its cluster name changed)
    // compares with the snapshot before it, so the chain v1 → v2 → … breaks if two were swapped;
    // and one per snapshot, no more: none applied twice.
    const audit = await ctx.db
      .selectFrom("read_model.audit_events")
      .select(["agent_id", "stream_seq", "details"])
      .where("event_type", "=", "cluster_agent_cluster_info_changed")
      .orderBy("id")
      .execute();
    expect(audit).toHaveLength(AGENTS * SNAPSHOTS_PER_AGENT);
    for (let agent = 1; agent <= AGENTS; agent++) {
      const chain = audit
        .filter((row) => row.agent_id === agent)
        .map((row) => {
          const details = row.details as {
            before: { cluster_name: string } | null;
            after: { cluster_name: string };
          };
          return `${details.before?.cluster_name ?? "-"}>${details.after.cluster_name}`;
        });
      expect(chain).toEqual(["->v1", "v1>v2", "v2>v3", "v3>v4", "v4>v5", "v5>v6"]);
    }
    const latest = await ctx.db
      .selectFrom("read_model.cluster_snapshots")
      .select(["agent_id", "cluster"])
      .orderBy("agent_id")
      .execute();
    expect(latest.map((row) => (row.cluster as { cluster_name: string }).cluster_name)).toEqual(
      Array.from({ length: AGENTS }, () => `v${SNAPSHOTS_PER_AGENT}`),
    );
    const connected = await ctx.db.selectFrom("read_model.agent_connections").select("agent_id").execute();
    expect(new Set(connected.map((row) => row.agent_id)).size).toBe(AGENTS);
    expect(await ctx.deadLetters()).toEqual([]);

    // One checkpoint per partition, each at its stream's end.
    const checkpoints = await ctx.db
      .selectFrom("read_model.projection_partition_positions")
      .select(["consumer", "partition_index", "stream_seq"])
      .where("partition_count", "=", PARTITIONS)
      .orderBy("consumer")
      .orderBy("partition_index")
      .execute();
    const [clusterEnd, heartbeatEnd] = [await lastSeq(ctx, "cluster"), await lastSeq(ctx, "heartbeat")];
    expect(checkpoints).toEqual([
      ...[0, 1, 2].map((i) => ({
        consumer: "projection-cluster",
        partition_index: i,
        stream_seq: clusterEnd,
      })),
      ...[0, 1, 2].map((i) => ({
        consumer: "projection-heartbeat",
        partition_index: i,
        stream_seq: heartbeatEnd,
      })),
    ]);
  });

  it("keeps read-your-writes across partitions: once the stream position covers a write, it is visible", {
    timeout: 120_000,
  }, async () => {
    const [first, second] = replicas.filter((r) => !r.bus.nc.isClosed());
    expect(first && second).toBeTruthy();
    for (let agent = 1; agent <= 6; agent++) {
      const { seq } = await publishEvent(ctx.bus, ctx.events.snapshot(agent, cluster(100 + agent)));
      const stream = ctx.topology.streamNames.cluster;
      await eventually(
        async () => ((await appliedStreamPositions(ctx.db, [stream])).get(stream) ?? 0) >= seq || undefined,
        "the position reaches the write",
        WAIT_TIMEOUT_MS,
      );
      expect(await ctx.latestCluster(agent)).toMatchObject({ cluster_name: `v${100 + agent}` });
    }
  });

  it("lets a replica whose lease session dies stop, rejoin with a new session, and share again", {
    timeout: 120_000,
  }, async () => {
    const live = replicas.filter((r) => !r.bus.nc.isClosed());
    const [cut] = live;
    if (!cut) throw new Error("no live replica");
    const oldPids = await sql<{ pid: number }>`
      select pid from pg_stat_activity where application_name = ${`kasmap-projection-leases:${cut.id}`}
         and datname = current_database()
    `.execute(ctx.db);
    expect(oldPids.rows).toHaveLength(1);
    // Only its lease session ends (a dropped connection); its NATS connection and pool stay.
    await sql`select pg_terminate_backend(${oldPids.rows[0]?.pid ?? 0})`.execute(ctx.db);
    await eventually(
      async () => {
        const now = await sql<{ pid: number }>`
          select pid from pg_stat_activity where application_name = ${`kasmap-projection-leases:${cut.id}`}
             and datname = current_database()
        `.execute(ctx.db);
        return now.rows.some((row) => row.pid !== oldPids.rows[0]?.pid) || undefined;
      },
      "a new lease session",
      WAIT_TIMEOUT_MS,
    );
    await unitsSharedBy(live, "the replicas share every unit again");
    const seqs = await publishRound(200);
    const stream = ctx.topology.streamNames.cluster;
    const last = Math.max(...seqs);
    await eventually(
      async () => ((await appliedStreamPositions(ctx.db, [stream])).get(stream) ?? 0) >= last || undefined,
      "the round applied",
      WAIT_TIMEOUT_MS,
    );
    for (let agent = 1; agent <= AGENTS; agent++) {
      expect(await ctx.latestCluster(agent)).toMatchObject({ cluster_name: "v200" });
    }
    expect(await ctx.deadLetters()).toEqual([]);
  });

  it("refuses to start a replica configured with other partitions than the live ones", async () => {
    const bus = await connectBus({ url: testNatsUrl(), name: "projection-mismatch", topology: ctx.topology });
    try {
      await expect(
        startProjectionService({
          bus,
          databaseUrl: ctx.database.url,
          logger: createLogger("projection", "silent"),
          partitions: PARTITIONS + 1,
          replicaId: "mismatched",
        }),
      ).rejects.toThrow(/replicas with 3 partitions run on this read model; every replica must use the same/);
    } finally {
      await bus.close();
    }
  });
});
