import { createTopology, EVENT_TYPES } from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { AgentRateLimiter } from "./agent-rate-limiter.ts";
import { type AgentStanding, collectorVerdict } from "./collector-standing.ts";
import { clampCollectorTimes } from "./collector-times.ts";

const e = testEvents(createTopology("kasmap"));
const STORED = new Date("2026-06-01T12:00:00.000Z");
const at = (iso: string) => new Date(iso);

describe("clampCollectorTimes", () => {
  it.each([
    { case: "a heartbeat from the future", sent: "2027-01-01T00:00:00.000Z", expected: STORED.toISOString() },
    {
      case: "a heartbeat from the past",
      sent: "2026-06-01T11:59:00.000Z",
      expected: "2026-06-01T11:59:00.000Z",
    },
    {
      case: "a future time with an offset",
      sent: "2026-06-01T14:00:00.000+01:00",
      expected: STORED.toISOString(),
    },
  ])("$case", ({ sent, expected }) => {
    const event = clampCollectorTimes(e.heartbeat(1, sent), STORED);
    expect(event.type === EVENT_TYPES.clusterHeartbeat && event.data.sent_at).toBe(expected);
  });

  it("clamps a snapshot's observed_at and envelope time, and leaves registry events alone", () => {
    const snapshot = {
      ...e.snapshot(1, buildClusterFacts({ observed_at: "2030-01-01T00:00:00.000Z" })),
      time: "2030-01-01T00:00:00.000Z",
    };
    const clamped = clampCollectorTimes(snapshot, STORED);
    expect(clamped.time).toBe(STORED.toISOString());
    expect(clamped.type === EVENT_TYPES.clusterSnapshot && clamped.data.cluster.observed_at).toBe(
      STORED.toISOString(),
    );
    const user = { ...e.user(1), time: "2030-01-01T00:00:00.000Z" };
    expect(clampCollectorTimes(user, STORED)).toBe(user);
  });
});

describe("collectorVerdict", () => {
  const standing = (overrides: Partial<AgentStanding>): AgentStanding => ({
    agentId: 7,
    exists: true,
    deletedAt: null,
    pastDeletions: [],
    tokens: [{ status: "active", revokedAt: null }],
    ...overrides,
  });
  const revokedAt = (iso: string) => ({ status: "revoked" as const, revokedAt: at(iso) });

  it.each([
    { case: "an agent with an active token", standing: standing({}), kind: "accept" },
    {
      case: "an event stored after the last token's revocation",
      standing: standing({ tokens: [revokedAt("2026-06-01T11:00:00.000Z")] }),
      kind: "refuse",
    },
    {
      case: "an event stored before the revocation (a replay)",
      standing: standing({ tokens: [revokedAt("2026-06-01T13:00:00.000Z")] }),
      kind: "accept",
    },
    {
      case: "one revoked and one active token",
      standing: standing({
        tokens: [revokedAt("2026-06-01T11:00:00.000Z"), { status: "active", revokedAt: null }],
      }),
      kind: "accept",
    },
    {
      case: "an event stored after the agent's deletion (refused unless a revival is still to apply)",
      standing: standing({ exists: false, deletedAt: at("2026-06-01T11:00:00.000Z") }),
      kind: "deleted",
    },
    {
      case: "an event stored before the agent's deletion (a replay)",
      standing: standing({ exists: false, deletedAt: at("2026-06-01T13:00:00.000Z") }),
      kind: "accept",
    },
    {
      case: "an event stored after the agent came back",
      standing: standing({
        pastDeletions: [{ from: at("2026-06-01T10:00:00.000Z"), until: at("2026-06-01T11:00:00.000Z") }],
      }),
      kind: "accept",
    },
    {
      case: "an event stored while the agent was deleted, applied after it came back",
      standing: standing({
        pastDeletions: [{ from: at("2026-06-01T11:00:00.000Z"), until: at("2026-06-01T13:00:00.000Z") }],
      }),
      kind: "refuse",
    },
    {
      case: "an event stored during an earlier deletion, applied after two revivals (a rebuild)",
      standing: standing({
        pastDeletions: [
          { from: at("2026-06-01T11:00:00.000Z"), until: at("2026-06-01T13:00:00.000Z") },
          { from: at("2026-06-02T10:00:00.000Z"), until: at("2026-06-02T11:00:00.000Z") },
        ],
      }),
      kind: "refuse",
    },
    {
      case: "an agent the registry has not brought yet",
      standing: standing({ exists: false, tokens: [] }),
      kind: "wait",
    },
    { case: "an agent without a token yet", standing: standing({ tokens: [] }), kind: "wait" },
  ])("$case: $kind", ({ standing: s, kind }) => {
    expect(collectorVerdict(s, STORED).kind).toBe(kind);
  });
});

describe("AgentRateLimiter", () => {
  const second = (n: number) => new Date(STORED.getTime() + n * 1000);

  it("admits at most N per 60 s of server time, per agent", () => {
    const limiter = new AgentRateLimiter(3, "snapshots");
    const answers = [1, 2, 3, 4, 5].map((seq) => limiter.admit(7, seq, second(seq)));
    expect(answers).toEqual([true, true, true, false, false]);
    expect(limiter.admit(8, 6, second(6))).toBe(true);
    // 60 s after the first, the window has room again.
    expect(limiter.admit(7, 7, second(62))).toBe(true);
  });

  it("answers the same when a batch is read again after a restart", () => {
    const limiter = new AgentRateLimiter(2, "snapshots");
    const first = [1, 2, 3].map((seq) => limiter.admit(7, seq, second(seq)));
    const again = [1, 2, 3].map((seq) => limiter.admit(7, seq, second(seq)));
    expect(again).toEqual(first);
    expect(first).toEqual([true, true, false]);
  });

  it("answers as the window's definition does over a random stream with re-reads and gaps in time", () => {
    // The definition, written plainly: the admitted events of the last 60 s below `seq` count;
    // an event admitted once is admitted again; one decided before and not admitted is refused.
    const model = (perMinute: number) => {
      const admitted: Array<{ seq: number; at: number }> = [];
      let highest = 0;
      return (seq: number, at: number) => {
        if (admitted.some((e) => e.seq === seq)) return true;
        if (seq <= highest) return false;
        highest = seq;
        if (admitted.filter((e) => e.at > at - 60_000 && e.seq < seq).length >= perMinute) return false;
        admitted.push({ seq, at });
        return true;
      };
    };
    let state = 42;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state / 2_147_483_648;
    };
    const limiter = new AgentRateLimiter(5, "snapshots");
    const reference = model(5);
    const stored: Array<{ seq: number; at: number }> = [];
    let at = STORED.getTime();
    for (let seq = 1; seq <= 2_000; seq++) {
      at += Math.round(random() < 0.05 ? 30_000 * random() : 1_000 * random());
      stored.push({ seq, at });
      // Now and then a batch of the last few events is read again.
      const batch = random() < 0.1 ? stored.slice(-1 - Math.floor(random() * 8)) : [{ seq, at }];
      for (const event of batch) {
        expect(limiter.admit(3, event.seq, new Date(event.at))).toBe(reference(event.seq, event.at));
      }
    }
  });
});
