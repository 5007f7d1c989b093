import { type ClusterFacts, sameCanonicalJson } from "@kasmap/contracts";
import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { DEFAULT_COLLECTOR_LIMITS, readPositions } from "@kasmap/projection-service";
import { eventually } from "@kasmap/testing/harness";
import fc from "fast-check";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MessageAccounting, type Published, streamOf } from "./collector-fuzz-accounting.ts";
import {
  type AttackerMessage,
  attackerBatch,
  type CollectorFuzzTarget,
  fuzzFacts,
  honestHeartbeat,
  honestSnapshot,
} from "./collector-fuzz-arbitraries.ts";
import { agentWithToken, groupWithProject, kasmapSystemForFile } from "./system-for-file.ts";

/**
 * The collector boundary, property-based, from an attacker who holds agent A's collector
 * credentials: it may publish anything, but only on A's own snapshot and heartbeat subjects (as
 * the NATS permissions of a collector allow). Each fast-check run publishes a batch of 20–40
 * generated messages — valid snapshots and heartbeats of A, mutated (`collector-fuzz-arbitraries.ts`),
 * and raw bytes — then checks what a user would notice:
 * 1. no jam: an honest snapshot of A and one of B (another project), and an honest heartbeat of
 *    A, published after the batch, all show through the gateway;
 * 2. no cross-agent effect: B's `cluster_info` is exactly its own last honest snapshot, its
 *    history holds only its honest snapshots, its connections only its own collector;
 * 3. nothing silently dropped: every message of the batch the server stored is named by a dead
 *    letter (its own or a summary's `seq_ranges`) with a reason, or was applied (a snapshot: its
 *    stream sequence is in A's history; a heartbeat: its collector's connection reached its
 *    clamped `sent_at`); a snapshot never both (its history row names its sequence, so this is
 *    exact for snapshots only); a heartbeat replaced on its subject before the consumer read
 *    it is neither, by the stream's design (latest per subject), and counted apart;
 * 4. never a 5xx: A's reads through the gateway (agent with cluster_info, cluster_info, history,
 *    the group CSV, lookup, verify, audit events) answer < 500, read while the attacker's last
 *    valid snapshot is A's latest;
 * 5. the projection still runs every unit, and this process saw no unhandled rejection.
 *
 * The system's snapshot and heartbeat rate limits are lifted (a run publishes more than the
 * default 60 snapshots a minute, and the honest snapshot after a batch must not be refused for
 * the attacker's rate); the dead-letter budget keeps its default, so the summaries beyond it
 * (`seq_ranges`, stored once the projection has read nothing for a second) are exercised and
 * accounted for too. The snapshot size limit keeps its default.
 *
 * How each message is accounted for follows the projection's consumers (libs/bus
 * `startCheckpointedConsumer`, services/projection/src/consume): a stored message is either
 * dead-lettered (pre-screen, JSON, schema, subject binding, screen, or a permanent database error
 * as `poison_event`) or handed to `projectBatch`, which writes a snapshot's history row under its
 * stream sequence — so for snapshots the accounting is exact. A heartbeat leaves no sequence in the
 * read model; "applied" is then the strongest true statement: its collector's row (or, once the
 * agent has `MAX_COLLECTOR_CONNECTIONS_PER_AGENT` collectors, the agent) reached its `sent_at`
 * clamped to when the server stored it, which a later heartbeat of the same collector also gives.
 * The heartbeat stream keeps only the latest message per subject, so a heartbeat replaced before
 * the consumer read it is neither applied nor dead-lettered by design: it must then have a later
 * message on its subject. Messages the server did not store (over the heartbeat stream's 4 KiB,
 * NATS' max_payload, or a repeated `Nats-Msg-Id`) are counted apart.
 *
 * CI runs a fixed seed and `FUZZ_RUNS_IN_CI` batches (~65 s on 2 CPUs, most of it each batch's
 * accounting waiting the projection's idle second for the attacker's summary dead letter);
 * `KASMAP_FUZZ_RUNS=<n>` and
 * `KASMAP_FUZZ_SEED=<n>|random` choose (the seed is printed, so a failing run can be repeated).
 * A failing batch is shrunk by replaying smaller ones against the same system: if the failure left
 * the system jammed, every replay fails and the shrunk case says little — read the first failure
 * (`Caused by`) then.
 */
const FUZZ_RUNS_IN_CI = 60;
const FIXED_SEED = 20_260_307;
const BATCH = { minLength: 20, maxLength: 40 };
/** How long an honest event may take to show through the gateway behind a batch. */
const APPLY_WITHIN_MS = 20_000;
/**
 * The same once a batch failed: the replays that shrink it wait less, so a jam (every replay
 * waiting in vain) shrinks within `SHRINK_BUDGET_MS` rather than for hours.
 */
const APPLY_WITHIN_WHILE_SHRINKING_MS = 3_000;
/** How long shrinking may run after the first failure; fast-check then reports the smallest case so far. */
const SHRINK_BUDGET_MS = 60_000;

const runs = Number(process.env.KASMAP_FUZZ_RUNS ?? FUZZ_RUNS_IN_CI);
const seed =
  process.env.KASMAP_FUZZ_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.KASMAP_FUZZ_SEED ?? FIXED_SEED);

const system = kasmapSystemForFile({
  projection: {
    collectorLimits: {
      ...DEFAULT_COLLECTOR_LIMITS,
      snapshotsPerMinute: 1_000_000,
      heartbeatsPerMinute: 1_000_000,
    },
  },
});

type AgentAt = { agentId: number; projectId: number; groupId: number };
let a: AgentAt;
let b: AgentAt;
let db: Kysely<ReadModelDatabase>;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** B's facts as its last honest snapshot carried them, and how many honest snapshots B sent. */
let bFacts: ClusterFacts;
let bSnapshots = 0;
let accounting: MessageAccounting;
let round = 0;

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  db = createDatabase<ReadModelDatabase>({ url: system.databaseUrl, max: 2 });
  const projectA = await groupWithProject(system, system.adminToken, {
    group: "Alpha",
    project: "alpha-infra",
  });
  const projectB = await groupWithProject(system, system.adminToken, {
    group: "Beta",
    project: "beta-infra",
  });
  a = { ...projectA, agentId: (await agentWithToken(system, projectA.projectId, "alpha-agent")).agentId };
  b = { ...projectB, agentId: (await agentWithToken(system, projectB.projectId, "beta-agent")).agentId };
  accounting = new MessageAccounting(system, db, { attacker: a.agentId, bystander: b.agentId });
  // B reports before the attack, so every run compares B with what it already showed.
  await publishHonest(a, "honest-a-0");
  await publishHonest(b, "honest-b-0");
  await eventually(
    async () => ((await clusterNameOf(b)) === "honest-b-0" ? true : undefined),
    "B's first snapshot",
  );
});

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await db?.destroy();
});

function agentPath(agent: AgentAt): string {
  return `/projects/${agent.projectId}/cluster_agents/${agent.agentId}`;
}

async function clusterInfoOf(agent: AgentAt): Promise<Record<string, unknown> | null> {
  const response = await system.api("GET", `${agentPath(agent)}?with_cluster_info=true`);
  if (response.status !== 200) throw new Error(`GET agent ${agent.agentId}: ${response.status}`);
  return (response.body?.cluster_info as Record<string, unknown> | null) ?? null;
}

async function clusterNameOf(agent: AgentAt): Promise<unknown> {
  return (await clusterInfoOf(agent))?.cluster_name;
}

async function publishRaw(subject: string, body: Uint8Array, msgID?: string) {
  return system.bus.js.publish(subject, body, msgID ? { msgID } : {});
}

/** An honest snapshot of `agent` (and for B, what its cluster_info must be from now on). */
async function publishHonest(agent: AgentAt, name: string): Promise<void> {
  const facts = fuzzFacts(name, agent === b ? { node_ips: { external: [], internal: ["10.9.0.1"] } } : {});
  const event = honestSnapshot(system.topology, agent.agentId, facts);
  await publishRaw(event.subject, new TextEncoder().encode(JSON.stringify(event)), event.id);
  if (agent === b) {
    bFacts = facts;
    bSnapshots += 1;
  }
}

async function publishBatch(batch: readonly AttackerMessage[]): Promise<Published[]> {
  const published: Published[] = [];
  for (const message of batch) {
    const stream = streamOf(message.subject);
    try {
      const ack = await publishRaw(message.subject, message.body, message.msgID);
      published.push(
        ack.duplicate
          ? { message, stream, seq: null, note: "duplicate msgID" }
          : { message, stream, seq: ack.seq },
      );
    } catch (error) {
      // Over the stream's max_msg_size (4 KiB heartbeats) or NATS' max_payload: never stored.
      published.push({ message, stream, seq: null, note: `refused by the server: ${String(error)}` });
    }
  }
  return published;
}

async function positionOf(consumer: string): Promise<number> {
  return Number((await readPositions(db)).get(consumer)?.seq ?? 0);
}

/** Property 4: A's reads answer < 500 (the failures, as text). */
async function readsOfA(): Promise<string[]> {
  const path = agentPath(a);
  const reads: Array<[string, string, unknown?]> = [
    ["GET", `${path}?with_cluster_info=true`],
    ["GET", `${path}/cluster_info`],
    ["GET", `${path}/cluster_info/history?per_page=100`],
    ["GET", `/groups/${a.groupId}/cluster_agents?format=csv&with_cluster_info=true`],
    ["GET", `/groups/${a.groupId}/cluster_agents?with_cluster_info=true`],
    ["GET", "/clusters/lookup?ip=10.0.1.1"],
    ["GET", "/clusters/lookup?cidr=0.0.0.0/0"],
    ["GET", "/clusters/lookup?cidr=::/0"],
    [
      "POST",
      `${path}/cluster_info/verify`,
      {
        api_endpoint_ip: ["10.0.0.0/8"],
        node_ips: ["10.0.0.0/8", "52.0.0.0/8"],
        node_ips_internal: ["0.0.0.0/0", "::/0"],
        node_ips_external: ["52.1.2.3"],
        pod_cidrs: ["10.244.0.0/16"],
        service_cidrs: ["10.96.0.0/12", "fd00::/8"],
        cluster_name: "honest",
        cluster_context: "honest-ctx",
        platform: "eks",
        cluster_uid: "uid",
      },
    ],
    ["GET", `/projects/${a.projectId}/audit_events?per_page=100`],
    ["GET", "/audit_events?per_page=100"],
  ];
  const failures: string[] = [];
  for (const [method, target, body] of reads) {
    const response = await system.call(method, `/api/v4${target}`, system.adminToken, body);
    const text = await response.text();
    if (response.status >= 500)
      failures.push(`${method} ${target}: ${response.status} ${text.slice(0, 300)}`);
  }
  return failures;
}

/** Property 2: B shows exactly its own honest snapshots and collector. */
async function checkB(): Promise<string[]> {
  const failures: string[] = [];
  const info = await clusterInfoOf(b);
  const { deployment_status: _s, last_connection: _l, connections, ...facts } = info ?? {};
  if (!sameCanonicalJson(facts, bFacts)) {
    failures.push(`B's cluster_info is not its own: ${JSON.stringify(facts).slice(0, 400)}`);
  }
  for (const c of (connections as Array<{ collector_id: string }> | undefined) ?? []) {
    if (c.collector_id !== "honest-b") failures.push(`B shows collector ${c.collector_id}`);
  }
  const history = await db
    .selectFrom("read_model.cluster_snapshot_history")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("agent_id", "=", b.agentId)
    .executeTakeFirst();
  if (Number(history?.n) !== bSnapshots)
    failures.push(`B's history holds ${history?.n}, B sent ${bSnapshots}`);
  return failures;
}

let applyWithinMs = APPLY_WITHIN_MS;
let firstFailure: { at: number; message: string } | null = null;

const totals = { messages: 0, deadLettered: 0, applied: 0, replaced: 0, notStored: 0 };
async function attackAndCheck(batch: readonly AttackerMessage[]): Promise<void> {
  // Past the shrink budget every further candidate passes untried, so fast-check stops shrinking
  // and reports the smallest failing batch so far.
  if (firstFailure !== null && Date.now() - firstFailure.at > SHRINK_BUDGET_MS) return;
  round += 1;
  const failures: string[] = [];
  const published = await publishBatch(batch);
  // Wait until the consumers went past the batch, so the reads see the attacker's state.
  for (const [stream, consumer] of [
    ["cluster", "projection-cluster"],
    ["heartbeat", "projection-heartbeat"],
  ] as const) {
    const last = Math.max(0, ...published.filter((p) => p.stream === stream).map((p) => p.seq ?? 0));
    if (last > 0) {
      await eventually(
        async () => ((await positionOf(consumer)) >= last ? true : undefined),
        `${consumer} past ${last}`,
        applyWithinMs,
      ).catch(() => failures.push(`${consumer} did not get past ${last} (jammed?)`));
    }
  }
  failures.push(...(await readsOfA()));

  // Property 1: honest events behind the batch are applied.
  const aName = `honest-a-${round}`;
  const bName = `honest-b-${round}`;
  await publishHonest(a, aName);
  await publishHonest(b, bName);
  const sentAt = new Date();
  const beat = honestHeartbeat(system.topology, a.agentId, "honest-a", sentAt);
  await publishRaw(beat.subject, new TextEncoder().encode(JSON.stringify(beat)), beat.id);
  const bBeat = honestHeartbeat(system.topology, b.agentId, "honest-b", sentAt);
  await publishRaw(bBeat.subject, new TextEncoder().encode(JSON.stringify(bBeat)), bBeat.id);
  const shown = await eventually(
    async () => {
      const info = await clusterInfoOf(a);
      const honestBeat = (
        info?.connections as Array<{ collector_id: string; last_heartbeat_at: string }> | undefined
      )?.find((c) => c.collector_id === "honest-a");
      const beatShown =
        honestBeat !== undefined && Date.parse(honestBeat.last_heartbeat_at) >= sentAt.getTime() - 1;
      return info?.cluster_name === aName && beatShown && (await clusterNameOf(b)) === bName
        ? true
        : undefined;
    },
    "the honest snapshots of A and B and A's heartbeat",
    applyWithinMs,
  ).catch((error: unknown) => String(error));
  if (shown !== true) failures.push(`jam: ${shown}`);

  failures.push(...(await checkB()));
  const { counts, failures: unaccounted } = await accounting.batch(published);
  failures.push(...unaccounted);
  // Property 5: every unit still held; nothing rejected unhandled.
  if (system.projection.held().length < 4) failures.push(`projection holds only ${system.projection.held()}`);
  if (unhandled.length > 0) failures.push(`unhandled rejection: ${String(unhandled[0])}`);

  totals.messages += batch.length;
  totals.deadLettered += counts.deadLettered;
  totals.applied += counts.applied;
  totals.replaced += counts.replaced;
  totals.notStored += counts.notStored;
  if (failures.length > 0) {
    const message = failures.slice(0, 10).join("\n");
    if (firstFailure === null) {
      firstFailure = { at: Date.now(), message };
      applyWithinMs = APPLY_WITHIN_WHILE_SHRINKING_MS;
      console.log(`collector fuzz: first failure (round ${round}), shrinking:\n${message}`);
    }
    throw new Error(message);
  }
}

it(
  "a collector's stolen credentials jam nothing, touch no other agent, lose nothing silently and cause no 5xx",
  async () => {
    const started = Date.now();
    const target: CollectorFuzzTarget = { topology: system.topology, attacker: a.agentId, other: b.agentId };
    console.log(`collector fuzz: seed ${seed}, ${runs} batches`);
    await fc.assert(fc.asyncProperty(attackerBatch(target, BATCH), attackAndCheck), { seed, numRuns: runs });
    console.log(
      [
        `collector fuzz: seed ${seed}, ${runs} batches, ${totals.messages} messages in ${Date.now() - started} ms`,
        `  dead-lettered ${totals.deadLettered}, applied ${totals.applied}, replaced on their subject ${totals.replaced}, not stored by the server ${totals.notStored}`,
        `  dead letters by reason: ${[...accounting.reasonKinds].map(([kind, n]) => `${kind} ${n}`).join(", ")}`,
      ].join("\n"),
    );
    expect(totals.deadLettered).toBeGreaterThan(0);
    expect(totals.applied).toBeGreaterThan(0);
  },
  60_000 + runs * 2_000 + SHRINK_BUDGET_MS + 2 * APPLY_WITHIN_MS,
);
