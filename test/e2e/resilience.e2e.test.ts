import { createHash } from "node:crypto";
import { publishEvent } from "@kasmap/bus";
import { type ClusterFacts, EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  projectionCaughtUp,
  projectionLag,
  type ResilientSystem,
  startResilientSystem,
} from "./resilient-system.ts";

/**
 * "A restart of NATS, PostgreSQL or any service loses no event": the whole system on servers
 * of this file's own, which it kills and restarts. Services are never restarted by the test
 * (except the projection it kills on purpose); they must recover on their own.
 */
let system: ResilientSystem;

beforeAll(async () => {
  system = await startResilientSystem();
  await eventually(
    async () => ((await internalIps()).length > 0 ? true : undefined),
    "the collector's first snapshot",
    30_000,
  );
}, 90_000);

afterAll(async () => {
  await system?.stop();
});

const clusterInfoPath = () =>
  `/projects/${encodeURIComponent("resilience/clusters")}/cluster_agents/${system.agentId}/cluster_info`;

async function internalIps(): Promise<string[]> {
  const response = await system.api("GET", clusterInfoPath());
  const info = response.body as { node_ips?: { internal: string[] } } | null;
  return response.status === 200 ? (info?.node_ips?.internal ?? []) : [];
}

function setWorkerIp(address: string): void {
  system.simulator.patchNode("k8s-worker-2", (node) => {
    const status = node.status as { addresses: Array<{ type: string; address: string }> };
    const addresses = status.addresses.map((a) => (a.type === "InternalIP" ? { ...a, address } : a));
    return { ...node, status: { ...status, addresses } };
  });
}

function showsWorkerIp(address: string): Promise<true> {
  return eventually(
    async () => ((await internalIps()).includes(address) ? true : undefined),
    `cluster_info with ${address}`,
    30_000,
  );
}

type StreamState = { messages: number; first_seq: number; last_seq: number; num_deleted: number };

async function streamStates(): Promise<Record<string, StreamState>> {
  const states: Record<string, StreamState> = {};
  for (const stream of system.topology.streams) {
    states[stream.role] = (await system.bus.jsm.streams.info(stream.name)).state;
  }
  return states;
}

/** The cluster stream's messages after `afterSeq`: this file's one agent publishes only there. */
async function snapshotsAfter(afterSeq: number): Promise<Array<{ seq: number; internal: string[] }>> {
  const stream = system.topology.streamNames.cluster;
  const { last_seq } = (await system.bus.jsm.streams.info(stream)).state;
  const snapshots: Array<{ seq: number; internal: string[] }> = [];
  for (let seq = afterSeq + 1; seq <= last_seq; seq++) {
    const message = await system.bus.jsm.streams.getMessage(stream, { seq });
    const event = message?.json<{ data: { cluster: ClusterFacts } }>();
    if (message && event) snapshots.push({ seq, internal: event.data.cluster.node_ips.internal });
  }
  return snapshots;
}

describe.each(["SIGTERM", "SIGKILL"] as const)("nats-server stopped with %s and started again", (signal) => {
  it("keeps the collector's change and every acknowledged write; no stream message is lost", async () => {
    const before = await streamStates();
    const address = signal === "SIGTERM" ? "192.168.49.51" : "192.168.49.52";
    await system.nats.kill(signal);
    setWorkerIp(address);
    const path = `during-${signal.toLowerCase()}`;
    const writes = [1, 2, 3].map((i) =>
      system.api("POST", "/groups", { name: `${path} ${i}`, path: `${path}-${i}` }),
    );
    // Leave the writes and the collector's publish in flight against a dead server for a while.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await system.nats.start();

    const results = await Promise.all(writes);
    for (const result of results) {
      if (result.status !== 201)
        expect(result).toEqual({ status: 503, body: { message: "503 Service Unavailable" } });
    }
    await showsWorkerIp(address);
    const created = results.filter((r) => r.status === 201).map((r) => Number(r.body?.id));
    for (const id of created) expect((await system.api("GET", `/groups/${id}`)).status).toBe(200);
    const after = await system.api("POST", "/groups", {
      name: `after ${signal}`,
      path: `after-${signal.toLowerCase()}`,
    });
    expect(after.status).toBe(201);

    await projectionCaughtUp(system);
    const now = await streamStates();
    for (const role of ["cluster", "authz", "registry"] as const) {
      expect(now[role]?.messages, `${role} messages`).toBeGreaterThanOrEqual(before[role]?.messages ?? 0);
      // Nothing vanished: sequences are contiguous from the first message.
      expect(now[role]?.num_deleted ?? 0, `${role} deleted`).toBe(0);
      expect(now[role]?.messages).toBe((now[role]?.last_seq ?? 0) - (now[role]?.first_seq ?? 1) + 1);
    }
    // Every acknowledged write's event is in the log.
    for (const id of [...created, Number(after.body?.id)]) {
      const subject = system.topology.subjects.registryChanged("group", id);
      const message = await system.bus.jsm.streams.getMessage(system.topology.streamNames.registry, {
        last_by_subj: subject,
      });
      expect(message?.subject).toBe(subject);
    }
    expect(now.deadLetter?.messages ?? 0).toBe(0);
  });
});

describe.each(["fast", "immediate"] as const)("PostgreSQL stopped with -m %s and started again", (mode) => {
  it("applies, in order and once, every snapshot published while the database was down", async () => {
    await projectionCaughtUp(system);
    const startSeq = (await streamStates()).cluster?.last_seq ?? 0;
    await system.postgres.stop(mode);
    const addresses =
      mode === "fast"
        ? ["192.168.49.61", "192.168.49.62", "192.168.49.63"]
        : ["192.168.49.71", "192.168.49.72", "192.168.49.73"];
    for (const address of addresses) {
      setWorkerIp(address);
      // One snapshot per change: wait until the collector has stored it before the next.
      await eventually(
        async () =>
          (await snapshotsAfter(startSeq)).some((s) => s.internal.includes(address)) ? true : undefined,
        `a snapshot with ${address}`,
        15_000,
      );
    }
    const during = await system.api("GET", clusterInfoPath());
    if (during.status !== 200) expect(String(during.body?.message)).toMatch(/^5\d\d /);
    await system.postgres.start();

    await showsWorkerIp(addresses[2] ?? "");
    await projectionCaughtUp(system);
    const published = await snapshotsAfter(startSeq);
    const history = await system.query<{ stream_seq: number; internal: string[] }>(
      "select stream_seq, cluster->'node_ips'->'internal' as internal from read_model.cluster_snapshot_history where agent_id = $1 and stream_seq > $2 order by stream_seq",
      [system.agentId, startSeq],
    );
    expect(history.map((h) => ({ seq: Number(h.stream_seq), internal: h.internal }))).toEqual(published);
    const order = addresses.map((a) => published.findIndex((s) => s.internal.includes(a)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect((await streamStates()).deadLetter?.messages ?? 0).toBe(0);
  });
});

describe("the projection killed (SIGKILL) in the middle of a burst and started again", () => {
  it("applies every message exactly once: history rows and positions match the stream", async () => {
    await projectionCaughtUp(system);
    const startSeq = (await streamStates()).cluster?.last_seq ?? 0;
    const [latest] = await system.query<{ cluster: ClusterFacts }>(
      "select cluster from read_model.cluster_snapshots where agent_id = $1",
      [system.agentId],
    );
    if (!latest) throw new Error("no snapshot to copy");
    const burst = 400;
    for (let i = 0; i < burst; i++) {
      const cluster = { ...latest.cluster, node_count: 1_000 + i };
      await publishEvent(
        system.bus,
        newKasmapEvent({
          type: EVENT_TYPES.clusterSnapshot,
          source: "e2e-resilience",
          subject: system.topology.subjects.clusterSnapshot(system.agentId),
          data: {
            agent_id: system.agentId,
            content_hash: createHash("sha256").update(`burst-${i}`).digest("hex"),
            cluster,
          },
        }),
      );
    }
    const clusterLag = async () =>
      (await projectionLag(system)).find((c) => c.consumer === "projection-cluster");
    await eventually(
      async () => ((await clusterLag())?.position ?? 0) > startSeq + 10 || undefined,
      "the projection to be mid-burst",
      20_000,
    );
    await system.killProjection();
    const appliedBeforeKill = (await clusterLag())?.position ?? 0;
    process.stderr.write(
      `[resilience] projection killed after ${appliedBeforeKill - startSeq} of ${burst} burst messages\n`,
    );
    system.startProjection();

    // The restarted projection resumes from the position committed with the rows it applied.
    await projectionCaughtUp(system, 60_000);
    const lastSeq = (await streamStates()).cluster?.last_seq ?? 0;
    const [rows] = await system.query<{ n: number; distinct_seqs: number; max_seq: number }>(
      "select count(*)::int as n, count(distinct stream_seq)::int as distinct_seqs, max(stream_seq) as max_seq from read_model.cluster_snapshot_history where agent_id = $1 and stream_seq > $2",
      [system.agentId, startSeq],
    );
    expect(rows).toEqual({ n: lastSeq - startSeq, distinct_seqs: lastSeq - startSeq, max_seq: lastSeq });
    const [current] = await system.query<{ stream_seq: number }>(
      "select stream_seq from read_model.cluster_snapshots where agent_id = $1",
      [system.agentId],
    );
    expect(Number(current?.stream_seq)).toBe(lastSeq);
  }, 90_000);
});
