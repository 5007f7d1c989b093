import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Bus, connectBus, publishEvent } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import { buildClusterFacts } from "@kasmap/testing";
import { eventually, testNatsUrl } from "@kasmap/testing/harness";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_SNAPSHOTS_PER_MINUTE } from "../projection-env.ts";
import { type ProjectionService, startProjectionService } from "../projection-service.ts";
import { projectionContextForFile } from "../testing/projection-context.ts";
import { allStreamsApplied } from "../testing/stream-positions.ts";
import { PARTITION_LEASE_CLASS } from "./leased-projection.ts";
import { projectionUnits } from "./projection-units.ts";

/**
 * A replica whose process stops running (SIGSTOP: a frozen container, an event loop blocked for
 * good) keeps its sockets open and its kernel answers TCP keep-alives, so only the lease
 * session's time-to-live frees its units: the other replica takes them over within it, and once
 * the frozen one runs again it neither applies anything twice nor out of order.
 */
const ctx = projectionContextForFile("frozen-replica-int-test");

const PARTITIONS = 3;
const UNIT_COUNT = projectionUnits(PARTITIONS).length;
const AGENTS = 30;
const LEASE_TTL_SECONDS = 3;
/** The TTL, the survivor's next round, and room for a loaded machine. */
const TAKEOVER_BOUND_MS = LEASE_TTL_SECONDS * 1000 + 12_000;
const WAIT_TIMEOUT_MS = 90_000;
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

let child: ChildProcessWithoutNullStreams | undefined;
let childOutput = "";
let survivor: { bus: Bus; service: ProjectionService } | undefined;

afterAll(async () => {
  child?.kill("SIGCONT");
  child?.kill("SIGKILL");
  await survivor?.service.stop();
  await survivor?.bus.close().catch(() => {});
});

/** The projection as `npm start` runs it, in a process of its own that the test can stop. */
function startReplicaProcess(id: string): ChildProcessWithoutNullStreams {
  const started = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: ctx.database.url,
      KASMAP_TOPOLOGY_ROOT: ctx.topology.root,
      KASMAP_PROJECTION_PARTITIONS: String(PARTITIONS),
      KASMAP_PROJECTION_REPLICA_ID: id,
      KASMAP_PROJECTION_LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
      LOG_LEVEL: "warn",
    },
  });
  started.stdout.on("data", (chunk: Buffer) => {
    childOutput += chunk.toString();
  });
  started.stderr.on("data", (chunk: Buffer) => {
    childOutput += chunk.toString();
  });
  return started;
}

/** The unit lease keys the lease session of replica `id` holds, as PostgreSQL sees them. */
async function leasesOf(id: string): Promise<number[]> {
  const { rows } = await sql<{ key: number }>`
    select l.objid::int as key from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and l.classid::int = ${PARTITION_LEASE_CLASS}
       and a.application_name = ${`kasmap-projection-leases:${id}`}
       and l.database = (select oid from pg_database where datname = current_database())
  `.execute(ctx.db);
  return rows.map((row) => row.key);
}

function cluster(version: number) {
  return buildClusterFacts({ cluster_name: `v${version}`, node_count: version });
}

const published: number[] = [];
let version = 0;

/** One snapshot (the next version) and one heartbeat per agent. */
async function publishRound(): Promise<void> {
  version++;
  for (let agent = 1; agent <= AGENTS; agent++) {
    published.push((await publishEvent(ctx.bus, ctx.events.snapshot(agent, cluster(version)))).seq);
    await publishEvent(ctx.bus, ctx.events.heartbeat(agent, new Date().toISOString()));
  }
}

describe("a frozen projection replica", () => {
  it("loses its units to another replica within the lease's time-to-live, and applies nothing twice once it runs again", {
    timeout: 300_000,
  }, async () => {
    child = startReplicaProcess("frozen");
    await eventually(
      async () => ((await leasesOf("frozen")).length === UNIT_COUNT ? true : undefined),
      `the replica process runs every unit (its output: ${childOutput})`,
      WAIT_TIMEOUT_MS,
    );
    for (let agent = 1; agent <= AGENTS; agent++) {
      await publishEvent(ctx.bus, ctx.events.group(agent));
      await publishEvent(ctx.bus, ctx.events.project(agent * 10, agent));
      await publishEvent(ctx.bus, ctx.events.agent(agent, agent * 10));
      await publishEvent(ctx.bus, ctx.events.agentToken(agent, agent));
    }
    await publishRound();
    await eventually(() => allStreamsApplied(ctx), "the first round applied", WAIT_TIMEOUT_MS);

    const bus = await connectBus({ url: testNatsUrl(), name: "projection-survivor", topology: ctx.topology });
    const service = await startProjectionService({
      bus,
      databaseUrl: ctx.database.url,
      logger: createLogger("projection", "silent"),
      partitions: PARTITIONS,
      replicaId: "survivor",
      leasePollMs: 200,
      leaseTtlMs: LEASE_TTL_SECONDS * 1000,
    });
    survivor = { bus, service };
    await eventually(
      async () => {
        const frozenUnits = (await leasesOf("frozen")).length;
        return frozenUnits > 0 && frozenUnits + service.held().length === UNIT_COUNT ? true : undefined;
      },
      "the two replicas share the units",
      WAIT_TIMEOUT_MS,
    );

    // The load runs on while the replica is frozen, so it is likely stopped in a batch; paced,
    // to stay below the snapshots an agent may send a minute (DEFAULT_SNAPSHOTS_PER_MINUTE).
    let loading = true;
    const load = (async () => {
      while (loading) {
        await publishRound();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGSTOP");
    const frozenAt = Date.now();
    await eventually(
      () => (service.held().length === UNIT_COUNT ? true : undefined),
      "the survivor runs every unit while the other replica is frozen",
      TAKEOVER_BOUND_MS,
    );
    const takeoverMs = Date.now() - frozenAt;
    console.info(`takeover of a frozen replica's units in ${takeoverMs} ms (TTL ${LEASE_TTL_SECONDS} s)`);
    expect(await leasesOf("frozen")).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    loading = false;
    await load;
    // Applied by the survivor alone: the frozen replica's open transaction blocks nothing.
    await eventually(
      () => allStreamsApplied(ctx),
      "everything applied while the replica is frozen",
      WAIT_TIMEOUT_MS,
    );

    child.kill("SIGCONT");
    await eventually(
      async () => {
        const frozenUnits = (await leasesOf("frozen")).length;
        return frozenUnits > 0 && frozenUnits + service.held().length === UNIT_COUNT ? true : undefined;
      },
      "the resumed replica rejoins and the two share the units again",
      WAIT_TIMEOUT_MS,
    );
    for (let round = 0; round < 2; round++) await publishRound();
    await eventually(() => allStreamsApplied(ctx), "every stream applied by both", WAIT_TIMEOUT_MS);

    // Every snapshot exactly once in the history (keyed by stream sequence) …
    const history = await ctx.db
      .selectFrom("read_model.cluster_snapshot_history")
      .select("stream_seq")
      .orderBy("stream_seq")
      .execute();
    expect(history.map((row) => row.stream_seq)).toEqual([...published].sort((x, y) => x - y));
    // … and in order per agent: each audit row compares with the snapshot before it, so a
    // snapshot applied twice or out of order breaks the chain v1 → v2 → ….
    const audit = await ctx.db
      .selectFrom("read_model.audit_events")
      .select(["agent_id", "details"])
      .where("event_type", "=", "cluster_agent_cluster_info_changed")
      .orderBy("id")
      .execute();
    expect(version).toBeLessThan(DEFAULT_SNAPSHOTS_PER_MINUTE);
    const expectedChain = Array.from({ length: version }, (_, i) => (i === 0 ? "->v1" : `v${i}>v${i + 1}`));
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
      expect(chain, `agent ${agent}`).toEqual(expectedChain);
    }
    expect(await ctx.deadLetters()).toEqual([]);
  });
});
