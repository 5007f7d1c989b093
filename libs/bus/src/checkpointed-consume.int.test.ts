import { EVENT_TYPES, KasmapError, newKasmapEvent } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import type { JsMsg } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { type CheckpointedEvent, startCheckpointedConsumer } from "./checkpointed-consume.ts";
import { DEAD_LETTER_HEADERS } from "./dead-letter.ts";
import { publishEvent } from "./publish.ts";
import { assertLeaderHolds, assertLeaderHoldsAll } from "./stream-leader-check.ts";

const world = testWorldForFile({ name: "bus-checkpointed-int-test", database: false });

function heartbeat(agentId: number) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: "/kasmap/collector/test",
    subject: world.topology.subjects.clusterHeartbeat(agentId),
    data: { agent_id: agentId, collector_id: "c1", content_hash: null, sent_at: new Date().toISOString() },
  });
}

/** Publishes a valid heartbeat of each of `count` agents from `firstAgent` on; answers their sequences. */
async function publishHeartbeats(firstAgent: number, count: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let agent = firstAgent; agent < firstAgent + count; agent++)
    seqs.push((await publishEvent(world.bus, heartbeat(agent))).seq);
  return seqs;
}

/** Publishes bytes that are not JSON on agent `agentId`'s heartbeat subject; answers the ack. */
function publishNotJson(agentId: number) {
  return world.bus.js.publish(
    world.topology.subjects.clusterHeartbeat(agentId),
    new TextEncoder().encode("{"),
  );
}

/**
 * A stand-in for the database: a batch's rows and checkpoint become visible together or not
 * at all, as in one transaction. `applied` is every committed event's sequence, in order.
 * `checkpoint` is where it starts: the sequence of the last message already committed.
 */
function transactionalStore(checkpoint = 0) {
  const store = {
    checkpoint,
    applied: [] as number[],
    readCheckpoint: async () => store.checkpoint,
    commit(batch: CheckpointedEvent[], lastSeq: number) {
      store.applied.push(...batch.map((e) => e.meta.seq));
      store.checkpoint = lastSeq;
    },
  };
  return store;
}

function agentOf({ event }: CheckpointedEvent): number {
  return event.type === EVENT_TYPES.clusterHeartbeat ? event.data.agent_id : -1;
}

async function deadLetterReasons(): Promise<string[]> {
  const info = await world.bus.jsm.streams.info(world.topology.streamNames.deadLetter);
  const reasons: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const letter = await world.bus.jsm.streams.getMessage(world.topology.streamNames.deadLetter, { seq });
    reasons.push(letter?.header.get(DEAD_LETTER_HEADERS.reason) ?? "");
  }
  return reasons;
}

describe("checkpointed consumer", () => {
  it("dead-letters invalid messages in the middle of a batch and applies the rest in order", async () => {
    const seqs: number[] = [];
    seqs.push((await publishEvent(world.bus, heartbeat(1))).seq);
    const garbage = await publishNotJson(2);
    seqs.push((await publishEvent(world.bus, heartbeat(3))).seq);
    const refused = await publishEvent(world.bus, heartbeat(13)); // applyBatch refuses agent 13
    seqs.push((await publishEvent(world.bus, heartbeat(5))).seq);
    const store = transactionalStore();
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-batch-dead-letters",
      readCheckpoint: store.readCheckpoint,
      async applyBatch(batch, lastSeq) {
        if (batch.some((e) => agentOf(e) === 13)) throw new KasmapError("poison_event", "agent 13");
        store.commit(batch, lastSeq);
      },
    });
    await eventually(() => (store.checkpoint === seqs.at(-1) ? true : undefined), "all messages passed");
    await consumer.stop();
    expect(store.applied).toEqual(seqs);
    expect(store.applied).not.toContain(garbage.seq);
    expect(store.applied).not.toContain(refused.seq);
    expect(await deadLetterReasons()).toEqual([expect.stringMatching(/^not JSON/), "agent 13"]);
  });

  it("dead-letters a batch's invalid and screened-out messages each once, in stream order, and again after a refused dead-letter publish without duplicates", async () => {
    const deadLetterStream = world.topology.streamNames.deadLetter;
    const before = (await world.bus.jsm.streams.info(deadLetterStream)).state;
    // The dead-letter stream takes 10 more messages, then refuses (as a full stream would).
    const config = (await world.bus.jsm.streams.info(deadLetterStream)).config;
    await world.bus.jsm.streams.update(deadLetterStream, { ...config, max_msgs: before.messages + 10 });
    const refusedSeqs: number[] = [];
    const appliedSeqs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const agent = 100 + i;
      if (i % 3 === 0) {
        const garbage = await publishNotJson(agent);
        refusedSeqs.push(garbage.seq);
      } else if (i % 3 === 1) {
        refusedSeqs.push((await publishEvent(world.bus, heartbeat(agent))).seq); // screened out below
      } else appliedSeqs.push((await publishEvent(world.bus, heartbeat(agent))).seq);
    }
    const store = transactionalStore((refusedSeqs[0] ?? 1) - 1);
    let failedPrepares = 0;
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-many-dead-letters",
      readCheckpoint: store.readCheckpoint,
      maxBatch: 100,
      maxWaitMs: 200,
      async screen(events) {
        return {
          refused: new Map(
            events.filter((e) => (agentOf(e) - 100) % 3 === 1).map((e) => [e.meta.seq, "screened out"]),
          ),
        };
      },
      applyBatch: async (batch, lastSeq) => store.commit(batch, lastSeq),
      onProblem: (problem) => {
        if (problem.kind !== "dead-lettered") failedPrepares++;
      },
    });
    try {
      await eventually(() => (failedPrepares > 0 ? true : undefined), "a dead-letter publish refused");
      expect(store.applied).toEqual([]);
      await world.bus.jsm.streams.update(deadLetterStream, { ...config, max_msgs: -1 });
      await eventually(() => (store.checkpoint === appliedSeqs.at(-1) ? true : undefined), "all passed");
    } finally {
      await consumer.stop();
      await world.bus.jsm.streams.update(deadLetterStream, config);
    }
    expect(store.applied).toEqual(appliedSeqs);
    const after = (await world.bus.jsm.streams.info(deadLetterStream)).state;
    const letters: Array<{ seq: number; reason: string }> = [];
    for (let seq = before.last_seq + 1; seq <= after.last_seq; seq++) {
      const letter = await world.bus.jsm.streams.getMessage(deadLetterStream, { seq });
      letters.push({
        seq: Number(letter?.header.get(DEAD_LETTER_HEADERS.seq)),
        reason: letter?.header.get(DEAD_LETTER_HEADERS.reason) ?? "",
      });
    }
    // Each refused message once, in the order of the stream, with its own reason.
    expect(letters.map((l) => l.seq)).toEqual(refusedSeqs);
    expect(letters.map((l) => l.reason)).toEqual(
      refusedSeqs.map((_, i) => (i % 2 === 0 ? expect.stringMatching(/^not JSON/) : "screened out")),
    );
  });

  it("dead-letters a pre-screened message unparsed with the pre-screen's reason, and validates the others", async () => {
    const before = (await world.bus.jsm.streams.info(world.topology.streamNames.deadLetter)).state.last_seq;
    const garbage = await publishNotJson(200);
    const kept = await publishNotJson(201);
    const valid = await publishEvent(world.bus, heartbeat(202));
    const store = transactionalStore(garbage.seq - 1);
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-pre-screen",
      readCheckpoint: store.readCheckpoint,
      preScreen: (meta) =>
        meta.subject.endsWith(".200.heartbeat") ? `${meta.bytes} bytes from 200` : undefined,
      applyBatch: async (batch, lastSeq) => store.commit(batch, lastSeq),
    });
    await eventually(() => (store.checkpoint === valid.seq ? true : undefined), "all passed");
    await consumer.stop();
    expect(store.applied).toEqual([valid.seq]);
    const letters = [];
    for (const seq of [before + 1, before + 2]) {
      const letter = await world.bus.jsm.streams.getMessage(world.topology.streamNames.deadLetter, { seq });
      letters.push([
        Number(letter?.header.get(DEAD_LETTER_HEADERS.seq)),
        letter?.header.get(DEAD_LETTER_HEADERS.reason),
      ]);
    }
    expect(letters).toEqual([
      [garbage.seq, "1 bytes from 200"],
      [kept.seq, expect.stringMatching(/^not JSON/)],
    ]);
  });

  it("resumes from the committed checkpoint after a stop in the middle of a batch, applying each message once", async () => {
    const seqs = await publishHeartbeats(20, 10);
    const store = transactionalStore((seqs[0] ?? 1) - 1);
    let calls = 0;
    let crashed: () => void = () => {};
    const crash = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    const options = {
      stream: "heartbeat" as const,
      name: "test-crash-mid-batch",
      readCheckpoint: store.readCheckpoint,
      maxBatch: 4,
    };
    const first = startCheckpointedConsumer(world.bus, {
      ...options,
      async applyBatch(batch, lastSeq) {
        calls++;
        if (calls === 1) return store.commit(batch, lastSeq);
        // The second batch dies before its commit, like a process killed mid-transaction.
        crashed();
        throw new Error("killed before commit");
      },
    });
    await crash;
    await first.stop();
    const committed = store.applied.length;
    expect(committed).toBeGreaterThan(0);
    expect(store.applied).toEqual(seqs.slice(0, committed));
    expect(store.checkpoint).toBe(seqs[committed - 1]);
    const second = startCheckpointedConsumer(world.bus, {
      ...options,
      applyBatch: async (batch, lastSeq) => store.commit(batch, lastSeq),
    });
    await eventually(() => (store.checkpoint === seqs.at(-1) ? true : undefined), "caught up again");
    await second.stop();
    expect(store.applied).toEqual(seqs);
  });

  it("restarts from the checkpoint after a failing batch, without losing or repeating a message", async () => {
    const seqs = await publishHeartbeats(40, 5);
    const store = transactionalStore((seqs[0] ?? 1) - 1);
    let failures = 2;
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-transient",
      readCheckpoint: store.readCheckpoint,
      async applyBatch(batch, lastSeq) {
        if (failures-- > 0) throw new Error("database down");
        store.commit(batch, lastSeq);
      },
    });
    await eventually(() => (store.checkpoint === seqs.at(-1) ? true : undefined), "applied after retries");
    await consumer.stop();
    expect(store.applied).toEqual(seqs);
  });

  it("screens the next batch while one is applied, applies one batch at a time, and keeps a batch applied when the next cannot be screened yet", async () => {
    const seqs = await publishHeartbeats(60, 9);
    const store = transactionalStore((seqs[0] ?? 1) - 1);
    const screened: number[][] = [];
    let applying = 0;
    let overlapped = 0;
    let waits = 1;
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-pipelined",
      readCheckpoint: store.readCheckpoint,
      maxBatch: 3,
      maxWaitMs: 200,
      async screen(events) {
        const batch = events.map((e) => e.meta.seq);
        screened.push(batch);
        // The second batch cannot be decided the first time: the consumer restarts from the
        // checkpoint, which the first batch (being applied meanwhile) has moved.
        if (batch[0] === seqs[3] && waits-- > 0) throw new Error("waiting for the registry");
        return { refused: new Map() };
      },
      async applyBatch(batch, lastSeq) {
        applying++;
        if (applying > 1) overlapped++;
        const first = batch[0]?.meta.seq ?? 0;
        // Held open until the batch after it has been screened (or there is none).
        const after = seqs.find((seq) => seq > lastSeq);
        if (after !== undefined) {
          await eventually(
            () => (screened.some((b) => b[0] === after) ? true : undefined),
            `screen after ${first}`,
          );
        }
        store.commit(batch, lastSeq);
        applying--;
      },
    });
    await eventually(() => (store.checkpoint === seqs.at(-1) ? true : undefined), "all applied");
    await consumer.stop();
    expect(store.applied).toEqual(seqs);
    expect(overlapped).toBe(0);
    // The refused screen of the second batch came while the first was applied, and once again.
    expect(screened.filter((b) => b[0] === seqs[3])).toHaveLength(2);
    expect(screened.filter((b) => b[0] === seqs[0])).toHaveLength(1);
  });

  it("commits a batch up to an event the screen cannot decide yet, then reads again from that event", async () => {
    // Agents 400 to 407; 401 is refused, 403 cannot be decided until the events before it (and
    // the letter of the one refused) are committed.
    const seqs = await publishHeartbeats(400, 8);
    const [refusedSeq, undecidedSeq] = [seqs[1], seqs[3]];
    const lettersBefore = (await deadLetterReasons()).length;
    const store = transactionalStore((seqs[0] ?? 1) - 1);
    const retries: string[] = [];
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-undecided",
      readCheckpoint: store.readCheckpoint,
      maxBatch: 100,
      maxWaitMs: 200,
      async screen(events) {
        const refused = new Map(
          events.filter((e) => e.meta.seq === refusedSeq).map((e) => [e.meta.seq, "refused 401"]),
        );
        const waits = store.checkpoint < (seqs[2] ?? 0) && events.some((e) => e.meta.seq === undecidedSeq);
        return waits && undecidedSeq !== undefined
          ? { refused, undecided: { seq: undecidedSeq, reason: "agent 403 undecided" } }
          : { refused };
      },
      applyBatch: async (batch, lastSeq) => store.commit(batch, lastSeq),
      onProblem: ({ kind, reason }) => {
        if (kind === "retrying") retries.push(reason);
      },
    });
    await eventually(() => (store.checkpoint === seqs.at(-1) ? true : undefined), "all applied");
    await consumer.stop();
    expect(store.applied).toEqual(seqs.filter((seq) => seq !== refusedSeq));
    expect(retries).toEqual(["agent 403 undecided"]);
    expect((await deadLetterReasons()).slice(lettersBefore)).toEqual(["refused 401"]);
  });

  it("as one partition, applies and dead-letters only its own messages, and moves its checkpoint over the others", async () => {
    const ownedAgent = (subject: string) => Number(subject.split(".")[2]) % 2 === 0;
    const seqs = await publishHeartbeats(60, 4); // agents 60 to 63: 60 and 62 are owned
    const garbageOwned = await publishNotJson(64);
    const garbageOther = await publishNotJson(65);
    const lettersBefore = (await deadLetterReasons()).length;
    const store = transactionalStore((seqs[0] ?? 1) - 1);
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-partition",
      owns: ownedAgent,
      readCheckpoint: store.readCheckpoint,
      applyBatch: async (batch, lastSeq) => store.commit(batch, lastSeq),
    });
    await eventually(
      () => (store.checkpoint === garbageOther.seq ? true : undefined),
      "past the last message",
    );
    await consumer.stop();
    expect(store.applied).toEqual([seqs[0], seqs[2]]);
    const letters = (await deadLetterReasons()).slice(lettersBefore);
    expect(letters).toEqual([expect.stringMatching(/^not JSON/)]);
    const dlq = world.topology.streamNames.deadLetter;
    const last = (await world.bus.jsm.streams.info(dlq)).state.last_seq;
    const letter = await world.bus.jsm.streams.getMessage(dlq, { seq: last });
    expect(letter?.header.get(DEAD_LETTER_HEADERS.seq)).toBe(String(garbageOwned.seq));
  });

  it("applies every message when it confirms each batch with the stream leader (replicated streams)", async () => {
    const seqs = await publishHeartbeats(70, 6);
    const store = transactionalStore((seqs[0] ?? 1) - 1);
    const problems: string[] = [];
    const consumer = startCheckpointedConsumer(world.bus, {
      stream: "heartbeat",
      name: "test-confirm-with-leader",
      confirmWithLeader: true,
      maxBatch: 4,
      readCheckpoint: store.readCheckpoint,
      applyBatch: async (batch, lastSeq) => store.commit(batch, lastSeq),
      onProblem: ({ reason }) => problems.push(reason),
    });
    await eventually(() => (store.checkpoint === seqs.at(-1) ? true : undefined), "all messages applied");
    await consumer.stop();
    expect(store.applied).toEqual(seqs);
    expect(problems).toEqual([]);
  });

  it("stops cleanly while starting and while waiting for messages", async () => {
    const options = {
      stream: "authz" as const,
      name: "test-stop",
      readCheckpoint: async () => 0,
      applyBatch: async () => {},
    };
    const starting = startCheckpointedConsumer(world.bus, options);
    await starting.stop();
    await expect(starting.done).resolves.toBeUndefined();
    const idle = startCheckpointedConsumer(world.bus, options);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await idle.stop();
    await expect(idle.done).resolves.toBeUndefined();
  });
});

/** The message at `seq` as an ordered consumer of the heartbeat stream delivers it. */
async function delivered(seq: number): Promise<JsMsg> {
  const consumer = await world.bus.js.consumers.get(world.topology.streamNames.heartbeat, {
    opt_start_seq: seq,
  });
  const message = await consumer.next({ expires: 5_000 });
  if (!message) throw new Error(`nothing delivered at ${seq}`);
  return message;
}

describe("assertLeaderHolds", () => {
  const stream = () => world.topology.streamNames.heartbeat;

  it("passes a message the stream holds at its sequence", async () => {
    const [seq = 0] = await publishHeartbeats(80, 1);
    await expect(assertLeaderHolds(world.bus, stream(), await delivered(seq))).resolves.toBeUndefined();
  });

  it("refuses a batch with a message delivered at a sequence where the stream holds another one", async () => {
    const [first = 0, second = 0, third = 0] = await publishHeartbeats(81, 3);
    const [one, two, three] = await Promise.all([delivered(first), delivered(second), delivered(third)]);
    if (!one || !two || !three) throw new Error("not delivered");
    // A diverged replica's copy: agent 81's heartbeat at the sequence the leader gave agent 82's,
    // in the middle of a batch whose first and last messages agree.
    const diverged = { seq: second, subject: one.subject, data: one.data, headers: one.headers };
    await expect(assertLeaderHoldsAll(world.bus, stream(), [one, two, three])).resolves.toBeUndefined();
    await expect(assertLeaderHoldsAll(world.bus, stream(), [one, diverged, three])).rejects.toThrow(
      /holds another message/,
    );
  });

  it("passes a sequence the stream no longer holds (a heartbeat replaced by its collector's next)", async () => {
    const [seq = 0] = await publishHeartbeats(84, 1);
    const message = await delivered(seq);
    await publishHeartbeats(84, 1);
    await expect(assertLeaderHolds(world.bus, stream(), message)).resolves.toBeUndefined();
  });
});
