import type { Bus } from "@kasmap/bus";
import {
  CommandReplySchema,
  EVENT_BINDINGS,
  EVENT_TYPES,
  type EventType,
  type StreamRole,
} from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  controlEvent,
  EVENT_TYPE_LIST,
  type Forgery,
  forgedEvent,
  forgeriesOn,
} from "./testing/forged-events.ts";
import { EVENT_STREAMS, onEventStream } from "./testing/forgery-counts.ts";
import {
  CREDENTIAL_KINDS,
  type CredentialKind,
  FORGERY_AGENT,
  type ForgeryWorld,
  startForgeryWorld,
} from "./testing/forgery-world.ts";
import { permissionViolation } from "./testing/permission-violation.ts";
import {
  mayPublish,
  type PublishTarget,
  publishTargets,
  refusedStreamSubjects,
} from "./testing/publish-targets.ts";

/**
 * NATS forgery (issue 7.1), for every credential kind: each of the three services and an
 * agent's collector connects as its own nkey user to a private nats-server whose permissions
 * come from `renderAuthorization`, and publishes every event type on every subject those
 * permissions let it publish (`publishTargets`, derived from the permissions: a new permission
 * adds rows here). On event subjects each forgery must be dead-lettered with a reason naming its
 * problem and change nothing in the read model; a correctly typed control event on each bound
 * subject, published after them, must then be applied (so the test cannot pass with no consumer
 * running). Everything else it may publish (commands, change notices, dead letters) must not
 * reach an event stream, and every event subject it may not publish is refused by the server.
 */
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/**
 * Written by hand from DESIGN.md: the event subjects each kind exists to publish. Anything the
 * permissions add beyond these fails the first test of that kind.
 */
const PUBLISHES: Record<CredentialKind, EventType[]> = {
  agent: [EVENT_TYPES.clusterSnapshot, EVENT_TYPES.clusterHeartbeat],
  authz: [
    EVENT_TYPES.authzChanged,
    EVENT_TYPES.groupChanged,
    EVENT_TYPES.projectChanged,
    EVENT_TYPES.userChanged,
    EVENT_TYPES.membershipChanged,
    EVENT_TYPES.personalAccessTokenChanged,
    EVENT_TYPES.agentChanged,
    EVENT_TYPES.agentTokenChanged,
    EVENT_TYPES.jobChanged,
    // A refused agent creation or deletion, for GitLab's `*_failed` audit events (issue 10).
    EVENT_TYPES.agentChangeRefused,
  ],
  // The alerts it raises with their audit events (issue 11).
  projection: [EVENT_TYPES.alertClusterChanged, EVENT_TYPES.alertClusterConflict],
  gateway: [],
  sync: [],
};
/** The streams each kind may write into at all (the projection writes dead letters). */
const WRITES_INTO: Record<CredentialKind, StreamRole[]> = {
  agent: ["cluster", "heartbeat"],
  authz: ["authz", "registry"],
  projection: ["deadLetter", "alerts"],
  // GitLab mode: the gateway stores GitLab's deliveries (issue 9); no event stream.
  gateway: ["gitlabInbox"],
  // Malformed GitLab inbox messages, on its own dead-letter subject.
  sync: ["deadLetter"],
};

let world: ForgeryWorld;

beforeAll(async () => {
  world = await startForgeryWorld();
}, 60_000);

afterAll(async () => {
  await world?.stop();
});

const targetsOf = (kind: CredentialKind) =>
  publishTargets(world.topology, world.permissions(kind), FORGERY_AGENT);

/** What the event streams hold: the last sequence of each. */
async function eventStreamSeqs(): Promise<number[]> {
  const seqs = await world.lastSeqs();
  return EVENT_STREAMS.map((role) => seqs[role]);
}

/**
 * Publishes a forged event on a subject that no stream stores or on a dead-letter subject:
 * commands are requests for which authz must publish no event; the rest is published and
 * stored at most as a dead letter.
 */
async function publishOutsideEventStreams(bus: Bus, target: PublishTarget, body: Uint8Array) {
  if (target.subject.startsWith(world.topology.subjects.authzCommand(""))) {
    const reply = await bus.nc.request(target.subject, body, { timeout: 10_000 });
    const parsed = CommandReplySchema.parse(JSON.parse(new TextDecoder().decode(reply.data)));
    // A read-only command may answer an event body (its schema ignores unknown fields); none may
    // publish an event for it.
    expect(parsed.ok ? parsed.positions : [], `events published for ${target.subject}`).toEqual([]);
  } else if (target.stream === "deadLetter") {
    await bus.js.publish(target.subject, body);
  } else {
    bus.nc.publish(target.subject, body);
  }
}

type Published = { key: string; stream: StreamRole; seq: number };
type PublishedForgery = Forgery & Published & { subject: string };

async function publishForgery(
  bus: Bus,
  target: PublishTarget & { stream: StreamRole },
  forgery: Forgery,
): Promise<PublishedForgery> {
  const ack = await bus.js.publish(target.subject, encode(forgery.event));
  return {
    ...forgery,
    key: `${ack.stream}:${ack.seq}`,
    stream: target.stream,
    seq: ack.seq,
    subject: target.subject,
  };
}

/**
 * Waits until the projection committed a position at or past each message (it dead-letters a
 * message before committing past it, so by then its dead letter exists); returns every dead
 * letter by stream position.
 */
async function projectedPast(published: readonly Published[], what: string) {
  const last = new Map<StreamRole, number>();
  for (const p of published) last.set(p.stream, Math.max(p.seq, last.get(p.stream) ?? 0));
  await eventually(async () => {
    for (const [stream, seq] of last) if ((await world.projectedSeq(stream)) < seq) return undefined;
    return true;
  }, `the projection past ${what}`);
  return world.deadLetters();
}

/** Publishes the correctly typed event of a bound subject; returns where it was stored. */
async function publishControl(
  bus: Bus,
  target: PublishTarget & { stream: StreamRole; boundType: EventType },
) {
  const ack = await bus.js.publish(target.subject, encode(controlEvent(world.topology, target)));
  return { key: `${ack.stream}:${ack.seq}`, stream: target.stream, seq: ack.seq };
}

describe.each(CREDENTIAL_KINDS)("the %s credentials", (kind) => {
  it("may publish on exactly the event subjects its kind exists to publish", () => {
    const targets = targetsOf(kind);
    const bound = targets.filter((t) => t.boundType !== null);
    // A type may be bound to more than one subject (an agent's and each replica's heartbeat).
    expect([...new Set(bound.map((t) => t.boundType))].sort()).toEqual([...PUBLISHES[kind]].sort());
    expect([...new Set(targets.flatMap((t) => (t.stream ? [t.stream] : [])))].sort()).toEqual(
      [...WRITES_INTO[kind]].sort(),
    );
  });

  it("is refused every event type on every stream subject it may not publish", async () => {
    const subjects = refusedStreamSubjects(world.topology, world.permissions(kind), [
      FORGERY_AGENT,
      FORGERY_AGENT + 1,
    ]);
    expect(subjects.length).toBeGreaterThan(0);
    const before = await world.lastSeqs();
    const bus = world.bus(kind);
    for (const subject of subjects) {
      for (const type of EVENT_TYPE_LIST) {
        const body = encode(forgedEvent(world.topology, type, subject));
        const refused = await permissionViolation(bus.js.publish(subject, body));
        expect(refused.operation).toBe("publish");
      }
    }
    expect(await world.lastSeqs()).toEqual(before);
  });

  it("cannot put an event into an event stream through what it may publish outside them", async () => {
    const targets = targetsOf(kind).filter((t) => !onEventStream(t));
    const bus = world.bus(kind);
    const before = { seqs: await eventStreamSeqs(), rows: await world.readModelRows() };
    for (const target of targets) {
      for (const type of EVENT_TYPE_LIST) {
        await publishOutsideEventStreams(
          bus,
          target,
          encode(forgedEvent(world.topology, type, target.subject)),
        );
      }
    }
    await bus.nc.flush();
    expect(await eventStreamSeqs()).toEqual(before.seqs);
    expect(await world.readModelRows()).toEqual(before.rows);
  });

  it("cannot re-point an event stream at the subjects it may publish outside them", async () => {
    const permissions = world.permissions(kind);
    const outside = targetsOf(kind)
      .filter((t) => !onEventStream(t))
      .map((t) => t.subject);
    // Only authz declares the streams (DESIGN.md); it is trusted with their configuration.
    expect(mayPublish(permissions, "$JS.API.STREAM.UPDATE.ANY")).toBe(kind === "authz");
    if (kind === "authz") return;
    const bus = world.bus(kind);
    for (const { role, name } of world.topology.streams.filter((s) => EVENT_STREAMS.includes(s.role))) {
      const { config } = await world.bus("authz").jsm.streams.info(name);
      await permissionViolation(
        bus.jsm.streams.update(name, { ...config, subjects: [...config.subjects, ...outside] }),
      );
      expect((await world.bus("authz").jsm.streams.info(name)).config.subjects, role).toEqual(
        config.subjects,
      );
    }
  });

  it("has every forgery on its event subjects dead-lettered with its reason, then the controls applied", async () => {
    const targets = targetsOf(kind).filter(onEventStream);
    const projected = PUBLISHES[kind].filter((type) => EVENT_STREAMS.includes(EVENT_BINDINGS[type].stream));
    expect(targets.length > 0).toBe(projected.length > 0);
    const bus = world.bus(kind);
    const rowsBefore = await world.readModelRows();

    // A stream that keeps only the latest message per subject (heartbeats) could drop a forgery
    // before the consumer reads it, which would prove nothing: there, one forgery at a time.
    const latestOnly = (t: PublishTarget & { stream: StreamRole }) =>
      world.topology.streams.some((s) => s.role === t.stream && s.latestPerSubject);
    const forged = await Promise.all(
      targets
        .filter((t) => !latestOnly(t))
        .flatMap((target) => forgeriesOn(world.topology, target).map((f) => publishForgery(bus, target, f))),
    );
    for (const target of targets.filter(latestOnly)) {
      for (const forgery of forgeriesOn(world.topology, target)) {
        const published = await publishForgery(bus, target, forgery);
        await projectedPast([published], forgery.label);
        forged.push(published);
      }
    }
    const letters = await projectedPast(forged, `${forged.length} forgeries`);
    const wrong = forged.flatMap(({ key, subject, label, problem }) => {
      const letter = letters.get(key);
      return letter?.subject === subject && problem.test(letter.reason)
        ? []
        : [{ label, expected: String(problem), got: letter ?? "no dead letter: applied" }];
    });
    expect(wrong).toEqual([]);
    expect(await world.readModelRows()).toEqual(rowsBefore);

    // Each bound subject's own type is still accepted there: the consumer ran past the forgeries.
    const controls = await Promise.all(
      targets.flatMap(({ subject, stream, boundType }) =>
        boundType === null ? [] : [publishControl(bus, { subject, stream, boundType })],
      ),
    );
    const lettersAfter = await projectedPast(controls, "every control event");
    // Committed past and not dead-lettered: applied (the consumer does one or the other).
    expect(controls.filter((c) => lettersAfter.has(c.key))).toEqual([]);
    if (controls.length > 0) expect(await world.readModelRows()).not.toEqual(rowsBefore);
  });
});

/**
 * GitLab mode (docs/gitlab-mode.md): the `mirror.*` commands write the registry with no actor,
 * so only the sync identity may send them; sync may send no other authz command.
 */
describe("the mirror commands", () => {
  const mirrorStatus = () => world.topology.subjects.authzCommand("mirror.status");

  it("are refused to the gateway, every other service and the agent", async () => {
    for (const kind of ["gateway", "projection", "agent"] as const) {
      expect(mayPublish(world.permissions(kind), mirrorStatus()), kind).toBe(false);
      const refused = await permissionViolation(
        world.bus(kind).nc.request(mirrorStatus(), encode({}), { timeout: 10_000 }),
      );
      expect(refused.operation).toBe("publish");
    }
  });

  it("are answered for sync, which may send no other authz command", async () => {
    const reply = await world.bus("sync").nc.request(mirrorStatus(), encode({}), { timeout: 10_000 });
    expect(CommandReplySchema.parse(JSON.parse(new TextDecoder().decode(reply.data)))).toMatchObject({
      ok: true,
      result: { groups: 0, projects: 0, agents: 0 },
    });
    const groupCreate = world.topology.subjects.authzCommand("group.create");
    const refused = await permissionViolation(
      world.bus("sync").nc.request(groupCreate, encode({ actor_user_id: 1, name: "x", path: "x" }), {
        timeout: 10_000,
      }),
    );
    expect(refused.operation).toBe("publish");
  });
});
