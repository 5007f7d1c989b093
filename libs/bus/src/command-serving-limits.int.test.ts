import { CommandReplySchema, KasmapError } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { testWorldForFile } from "@kasmap/testing/world";
import { nkeys } from "@nats-io/nats-core";
import { afterEach, describe, expect, it } from "vitest";
import type { Bus } from "./bus.ts";
import {
  type CommandHandlers,
  type CommandServer,
  type CommandServingLimits,
  requestCommand,
  serveCommands,
} from "./commands.ts";

/**
 * Command serving under a flood (security review: any collector identity may publish
 * `agent_token.authenticate`): the handlers in flight and the requests waiting stay within each
 * lane's limits, the excess is answered `unavailable` at once, and the gateway's commands are
 * served meanwhile. The handlers stand in for authz's: each holds one of 8 "pooled connections"
 * (a semaphore, as authz's pool of 8), and an authentication holds its one until the test lets
 * it go, so the flood is as slow as the test wants and nothing here reads a clock.
 */
const world = testWorldForFile({ name: "command-serving-limits-int-test", database: false });
const decoder = new TextDecoder();

const LIMITS: CommandServingLimits = {
  users: { maxInFlight: 16, maxWaiting: 1_000, maxWaitingBytes: 64 * 1024 * 1024 },
  collectors: { maxInFlight: 2, maxWaiting: 50, maxWaitingBytes: 1024 * 1024 },
};
const FLOOD = 2_000;
/** `LIMITS` with each named sender's share of the collectors' lane, as authz serves them. */
const PER_SENDER_LIMITS: CommandServingLimits = {
  ...LIMITS,
  collectors: { ...LIMITS.collectors, maxWaitingPerSender: 4 },
};

/** A pool of `size` connections: `acquire` waits for a free one, as pg.Pool does. */
function fakePool(size: number) {
  let free = size;
  const waiters: (() => void)[] = [];
  return {
    async acquire(): Promise<() => void> {
      if (free > 0) free--;
      else await new Promise<void>((resolve) => waiters.push(resolve));
      return () => {
        const next = waiters.shift();
        if (next) next();
        else free++;
      };
    },
  };
}

/**
 * Authz's stand-in: authentications block on `gate` holding a connection; job.create does not
 * block. `started` lists the tokens of the authentications in the order their handlers started.
 */
function floodedAuthz() {
  const pool = fakePool(8);
  const started: string[] = [];
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const handlers = {
    "agent_token.authenticate": async ({ token }: { token: string }) => {
      started.push(token);
      const release = await pool.acquire();
      try {
        await gate;
        throw new KasmapError("unauthorized", "401 Unauthorized");
      } finally {
        release();
      }
    },
    // Served means answered by the handler (here a refusal, so no result to make up).
    "job.create": async () => {
      const release = await pool.acquire();
      release();
      throw new KasmapError("forbidden", "403 Forbidden");
    },
  } as unknown as CommandHandlers;
  return { handlers, started, openGate: () => open() };
}

/**
 * Publishes `count` authentications (from `sender` when given: its sender subject); counts the
 * answers by error code and keeps the messages.
 */
function flood(bus: Bus, count: number, sender?: string) {
  const codes = new Map<string, number>();
  const messages = new Set<string>();
  const inbox = `_INBOX.flood.${Math.random().toString(36).slice(2)}`;
  bus.nc.subscribe(inbox, {
    callback: (_error, message) => {
      const reply = CommandReplySchema.parse(JSON.parse(decoder.decode(message.data)));
      const code = reply.ok ? "ok" : reply.error.code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (!reply.ok) messages.add(reply.error.message);
    },
  });
  const subject = sender
    ? bus.topology.subjects.authzCommandFromSender("agent_token.authenticate", sender)
    : bus.topology.subjects.authzCommand("agent_token.authenticate");
  for (let i = 0; i < count; i++) {
    bus.nc.publish(subject, JSON.stringify({ token: `kmcol-bogus-${i}` }), { reply: inbox });
  }
  return {
    answered: (code: string) => codes.get(code) ?? 0,
    total: () => [...codes.values()].reduce((a, b) => a + b, 0),
    messages: () => [...messages],
  };
}

let server: CommandServer | undefined;
afterEach(() => server?.unsubscribe());

/** Serves `handlers` on the world's bus with `limits`, errors and answers unobserved. */
const serve = (handlers: CommandHandlers, limits: CommandServingLimits) =>
  serveCommands(
    world.bus,
    handlers,
    () => {},
    () => {},
    { limits },
  );

describe("command serving limits", () => {
  it("bounds a flood of authentications to its lane and answers the excess unavailable at once", async () => {
    const authz = floodedAuthz();
    server = serve(authz.handlers, LIMITS);
    const sent = flood(world.bus, FLOOD);
    const held = LIMITS.collectors.maxInFlight + LIMITS.collectors.maxWaiting;
    // Every request past the lane's in-flight and waiting bounds is answered before any handler ends.
    await eventually(
      () => (sent.answered("unavailable") === FLOOD - held ? true : undefined),
      "the excess answered unavailable",
    );
    const lanes = server.lanes();
    expect(lanes.collectors).toMatchObject({
      inFlight: LIMITS.collectors.maxInFlight,
      waiting: LIMITS.collectors.maxWaiting,
      rejected: FLOOD - held,
    });
    expect(lanes.collectors.waitingBytes).toBeLessThanOrEqual(LIMITS.collectors.maxWaitingBytes);

    // The gateway's command meanwhile: the flood holds 2 of the 8 connections, never all.
    const job = await requestCommand(world.bus, "job.create", { actor_user_id: 1, project_id: 1 }).catch(
      (error: unknown) => error,
    );
    expect(job).toMatchObject({ code: "forbidden" });
    expect(server.lanes().users).toMatchObject({ waiting: 0, rejected: 0 });

    authz.openGate();
    await eventually(() => (sent.total() === FLOOD ? true : undefined), "every request answered");
    expect(sent.answered("unauthorized")).toBe(held);
    expect(server.lanes().collectors).toMatchObject({ inFlight: 0, waiting: 0 });
  });

  it("answers the requests still waiting when serving stops, instead of leaving them unanswered", async () => {
    const authz = floodedAuthz();
    server = serve(authz.handlers, LIMITS);
    const sent = flood(world.bus, LIMITS.collectors.maxInFlight + 10);
    await eventually(() => (server?.lanes().collectors.waiting === 10 ? true : undefined), "10 waiting");
    server.unsubscribe();
    await eventually(() => (sent.answered("unavailable") === 10 ? true : undefined), "the waiting answered");
    authz.openGate();
    await eventually(() => (sent.answered("unauthorized") === 2 ? true : undefined), "the running answered");
  });

  it("counts waiting bytes: bodies past maxWaitingBytes are answered unavailable", async () => {
    const authz = floodedAuthz();
    const limits: CommandServingLimits = {
      ...LIMITS,
      collectors: { maxInFlight: 1, maxWaiting: 1_000, maxWaitingBytes: 10_000 },
    };
    server = serve(authz.handlers, limits);
    const sent = flood(world.bus, 1_001);
    // Each body is ~30 bytes: ~330 fit in 10,000 bytes, far fewer than maxWaiting.
    const settled = await eventually(() => {
      const lane = server?.lanes().collectors;
      return lane && lane.inFlight + lane.waiting + sent.answered("unavailable") === 1_001 ? lane : undefined;
    }, "every request started, waiting or answered");
    expect(settled.inFlight).toBe(1);
    // Stopped by bytes, not count: the queue is full to within one body of 10,000 bytes.
    expect(settled.waitingBytes).toBeLessThanOrEqual(10_000);
    expect(settled.waitingBytes).toBeGreaterThan(10_000 - 64);
    expect(settled.waiting).toBeLessThan(1_000);
    expect(settled.rejected).toBe(1_001 - 1 - settled.waiting);
    expect(settled.rejected).toBe(sent.answered("unavailable"));
    authz.openGate();
  });

  it("gives a sender that floods its own share of the queue and serves the senders in turn", async () => {
    const authz = floodedAuthz();
    server = serve(authz.handlers, PER_SENDER_LIMITS);
    const attacker = nkeys.createUser().getPublicKey();
    const victim = nkeys.createUser().getPublicKey();
    const sent = flood(world.bus, FLOOD, attacker);
    // 2 running, 4 of its own waiting; the lane (50) has room left for the others.
    await eventually(
      () => (sent.answered("unavailable") === FLOOD - 6 ? true : undefined),
      "the attacker's excess answered unavailable",
    );
    expect(sent.messages()).toEqual([
      "authz is busy: the collectors lane already holds 4 requests of this sender; try again later",
    ]);
    expect(server.lanes().collectors).toMatchObject({ inFlight: 2, waiting: 4, waitingSenders: 1 });

    const subject = world.bus.topology.subjects.authzCommandFromSender("agent_token.authenticate", victim);
    const victimReply = world.bus.nc.request(subject, JSON.stringify({ token: "kmcol-victim" }), {
      timeout: 30_000,
    });
    await eventually(
      () => (server?.lanes().collectors.waiting === 5 ? true : undefined),
      "the victim waiting",
    );
    expect(server.lanes().collectors.waitingSenders).toBe(2);

    authz.openGate();
    const reply = CommandReplySchema.parse(JSON.parse(decoder.decode((await victimReply).data)));
    expect(reply).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    await eventually(() => (sent.total() === FLOOD ? true : undefined), "every request answered");
    // The two running, then the senders in turn: the attacker's oldest, then the victim's.
    expect(authz.started.indexOf("kmcol-victim")).toBe(3);
    expect(sent.answered("unauthorized")).toBe(6);
  });

  it("keeps a place for a sender whatever many identities flood: the one holding the most is pushed out", async () => {
    const authz = floodedAuthz();
    server = serve(authz.handlers, PER_SENDER_LIMITS);
    // 20 agents' credentials, 4 waiting each, would hold 80 places of the lane's 50.
    const attackers = Array.from({ length: 20 }, () => nkeys.createUser().getPublicKey());
    const sent = attackers.map((attacker) => flood(world.bus, 100, attacker));
    const answered = (code: string) => sent.reduce((n, s) => n + s.answered(code), 0);
    await eventually(
      () => (answered("unavailable") === 20 * 100 - 2 - 50 ? true : undefined),
      "the attackers' excess answered unavailable",
    );
    expect(server.lanes().collectors).toMatchObject({ inFlight: 2, waiting: 50 });

    const victim = nkeys.createUser().getPublicKey();
    const subject = world.bus.topology.subjects.authzCommandFromSender("agent_token.authenticate", victim);
    const victimReply = world.bus.nc.request(subject, JSON.stringify({ token: "kmcol-victim" }), {
      timeout: 30_000,
    });
    // One attacker's newest request made way for it.
    await eventually(
      () => (answered("unavailable") === 20 * 100 - 2 - 50 + 1 ? true : undefined),
      "one attacker request pushed out",
    );
    const messages = new Set(sent.flatMap((s) => s.messages()));
    expect(messages).toContain(
      "authz is busy: the collectors lane is full and this sender held the most requests in it; try again later",
    );
    expect(server.lanes().collectors).toMatchObject({ waiting: 50 });

    authz.openGate();
    const reply = CommandReplySchema.parse(JSON.parse(decoder.decode((await victimReply).data)));
    expect(reply).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    // Served within one turn of the senders waiting before it (at most 20), after the 2 running.
    expect(authz.started.indexOf("kmcol-victim")).toBeGreaterThan(1);
    expect(authz.started.indexOf("kmcol-victim")).toBeLessThanOrEqual(2 + 20);
    await eventually(
      () => (sent.every((s) => s.total() === 100) ? true : undefined),
      "every request answered",
    );
  });

  it("answers a subject that names no command at once, without a place in any lane", async () => {
    const authz = floodedAuthz();
    server = serve(authz.handlers, LIMITS);
    // Fill the collectors' lane, so only an answer outside it can come back.
    const sent = flood(world.bus, LIMITS.collectors.maxInFlight + LIMITS.collectors.maxWaiting);
    await eventually(
      () => (server?.lanes().collectors.waiting === LIMITS.collectors.maxWaiting ? true : undefined),
      "the lane full",
    );
    for (const name of ["agent_token.authenticate.not-a-key", "agent_token.authenticate.U", "no.such"]) {
      const reply = await world.bus.nc.request(world.bus.topology.subjects.authzCommand(name), "{}");
      expect(CommandReplySchema.parse(JSON.parse(decoder.decode(reply.data)))).toEqual({
        ok: false,
        error: { code: "bad_request", message: `unknown command ${name}` },
      });
    }
    expect(server.lanes().collectors.rejected).toBe(0);
    expect(server.lanes().users).toMatchObject({ inFlight: 0, waiting: 0, rejected: 0 });
    authz.openGate();
    await eventually(() => (sent.total() === 52 ? true : undefined), "every request answered");
  });
});
