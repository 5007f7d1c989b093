import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Bus, connectBus, ensureStreams, publishEvent } from "@kasmap/bus";
import { createTopology, EVENT_TYPES, type Topology } from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { createTestTopology, testNatsUrl } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseReplayArgs } from "./audit-replay-args.ts";
import { replayAuditLog } from "./replay-audit-log.ts";

let bus: Bus;
let since: string;
const topology = createTestTopology();
const events = testEvents(topology);

beforeAll(async () => {
  bus = await connectBus({ url: testNatsUrl(), name: "audit-replay-int-test", topology });
  await ensureStreams(bus);
  // Everything this file publishes falls inside the window; --until cuts it below.
  since = new Date(Date.now() - 60_000).toISOString();
  await publishEvent(bus, events.agent(5, 50));
  await publishEvent(bus, events.agentToken(51, 5));
  await publishEvent(bus, events.snapshot(5, buildClusterFacts()));
  await publishEvent(bus, events.snapshot(6, buildClusterFacts({ cluster_name: "other" })));
  await publishEvent(bus, events.heartbeat(5, new Date().toISOString()));
});

afterAll(async () => {
  for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
  await bus?.close();
});

/** Runs `use` on streams of a topology of its own (`audit_replay_<name>`), deleted after. */
async function withOwnStreams(
  name: string,
  use: (other: Bus, own: Topology) => Promise<void>,
): Promise<void> {
  const own = createTopology(`audit_replay_${name}`);
  const other = await connectBus({ url: testNatsUrl(), name: `audit-replay-${name}`, topology: own });
  await ensureStreams(other);
  try {
    await use(other, own);
  } finally {
    for (const stream of own.streams) await other.jsm.streams.delete(stream.name).catch(() => {});
    await other.close();
  }
}

describe("replayAuditLog", () => {
  it("prints the window's events oldest first, without heartbeats, then stops", async () => {
    const lines = await replayAuditLog(bus, parseReplayArgs(["--since", since]));
    expect(lines.map((l) => l.event.type)).toEqual([
      EVENT_TYPES.agentChanged,
      EVENT_TYPES.agentTokenChanged,
      EVENT_TYPES.clusterSnapshot,
      EVENT_TYPES.clusterSnapshot,
    ]);
    expect(lines[0]?.stream).toBe(topology.streamNames.registry);
  });

  it("narrows to one agent and some types, or starts from a sequence", async () => {
    const forAgent = await replayAuditLog(bus, parseReplayArgs(["--since", since, "--agent", "5"]));
    expect(forAgent.map((l) => l.event.type)).toEqual([
      EVENT_TYPES.agentChanged,
      EVENT_TYPES.agentTokenChanged,
      EVENT_TYPES.clusterSnapshot,
    ]);
    const snapshots = await replayAuditLog(
      bus,
      parseReplayArgs(["--from-seq", "1", "--types", "cluster.snapshot"]),
    );
    expect(snapshots.map((l) => l.seq)).toEqual([1, 2]);
    const none = await replayAuditLog(
      bus,
      parseReplayArgs(["--since", since, "--until", since, "--streams", "cluster"]),
    );
    expect(none).toEqual([]);
  });

  it("ends at once on an empty window", async () => {
    await withOwnStreams("empty", async (other) => {
      expect(await replayAuditLog(other, parseReplayArgs(["--since", since]))).toEqual([]);
    });
  });

  it("leaves out an event forged onto another type's subject (issue 7.1)", async () => {
    await withOwnStreams("forged", async (other, own) => {
      const subject = own.subjects.clusterSnapshot(7);
      const forged = { ...testEvents(own).personalAccessToken(7, 1, null), subject };
      await other.js.publish(subject, new TextEncoder().encode(JSON.stringify(forged)));
      await publishEvent(other, testEvents(own).snapshot(7, buildClusterFacts()));
      const lines = await replayAuditLog(other, parseReplayArgs(["--since", since]));
      expect(lines.map((l) => l.event.type)).toEqual([EVENT_TYPES.clusterSnapshot]);
    });
  });

  it("replays the projection's alerts too: every stream by default, --streams alerts alone, by agent", async () => {
    await withOwnStreams("alerts", async (other, own) => {
      const built = testEvents(own);
      await publishEvent(other, built.snapshot(8, buildClusterFacts()));
      await publishEvent(other, built.clusterChangedAlert(8));
      await publishEvent(other, built.clusterChangedAlert(9));
      const all = await replayAuditLog(other, parseReplayArgs(["--since", since]));
      expect(all.map((l) => [l.stream, l.event.type])).toEqual([
        [own.streamNames.cluster, EVENT_TYPES.clusterSnapshot],
        [own.streamNames.alerts, EVENT_TYPES.alertClusterChanged],
        [own.streamNames.alerts, EVENT_TYPES.alertClusterChanged],
      ]);
      const alertsOfAgent = await replayAuditLog(
        other,
        parseReplayArgs([
          "--since",
          since,
          "--streams",
          "alerts",
          "--agent",
          "8",
          "--types",
          "alert.cluster_changed",
        ]),
      );
      expect(alertsOfAgent.map((l) => agentOf(l.event))).toEqual([8]);
    });
  });
});

describe("npm run audit:replay", () => {
  it("prints, as a process to a pipe, every line the library replays, in order, as JSON lines", async () => {
    await withOwnStreams("cli", async (other, own) => {
      const built = testEvents(own);
      // More than one 64 KiB chunk of output: the lines are written in chunks.
      for (let agentId = 1; agentId <= 60; agentId++) {
        await publishEvent(other, built.agent(agentId, agentId));
        await publishEvent(
          other,
          built.snapshot(agentId, buildClusterFacts({ cluster_name: `c${agentId}` })),
        );
      }
      const expected = await replayAuditLog(other, parseReplayArgs(["--from-seq", "1"]));
      const cli = fileURLToPath(new URL("./audit-replay.ts", import.meta.url));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", cli, "--from-seq", "1"],
        {
          env: { ...process.env, NATS_URL: testNatsUrl(), KASMAP_TOPOLOGY_ROOT: own.root, LOG_LEVEL: "warn" },
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      expect(stdout.length).toBeGreaterThan(64 * 1024);
      expect(stdout.endsWith("\n")).toBe(true);
      const printed = stdout
        .slice(0, -1)
        .split("\n")
        .map((line) => JSON.parse(line) as unknown);
      expect(printed).toHaveLength(120);
      expect(printed).toEqual(JSON.parse(JSON.stringify(expected)));
    });
  });
});

function agentOf(event: { data: unknown }): unknown {
  return (event.data as { agent_id?: unknown }).agent_id;
}
