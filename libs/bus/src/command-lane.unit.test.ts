import { describe, expect, it } from "vitest";
import { createCommandLane } from "./command-lane.ts";
import { commandOfSubject } from "./commands.ts";

/**
 * A lane whose requests run until the test ends them, so nothing here depends on time; `pushed`
 * lists the requests it pushed out.
 */
function heldLane(limits: Parameters<typeof createCommandLane>[0]) {
  const started: string[] = [];
  const pushed: string[] = [];
  const running = new Map<string, () => void>();
  const lane = createCommandLane<string>(
    limits,
    (item) => {
      started.push(item);
      return new Promise<void>((resolve) => running.set(item, resolve));
    },
    (item) => pushed.push(item),
  );
  return {
    lane,
    started,
    pushed,
    async finish(item: string) {
      running.get(item)?.();
      running.delete(item);
      // Let the lane's `finally` start the next request.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const LIMITS = { maxInFlight: 1, maxWaiting: 10, maxWaitingBytes: 1_000, maxWaitingPerSender: 3 };

describe("createCommandLane", () => {
  it("serves the senders in turn, each sender's requests in the order they came", async () => {
    const { lane, started, finish } = heldLane(LIMITS);
    for (const item of ["a1", "a2", "a3", "b1", "b2", "c1"]) {
      expect(lane.offer(item, 1, item[0])).toBeNull();
    }
    expect(lane.status()).toMatchObject({ inFlight: 1, waiting: 5, waitingSenders: 3 });
    for (const item of ["a1", "a2", "b1", "c1", "a3"]) await finish(item);
    expect(started).toEqual(["a1", "a2", "b1", "c1", "a3", "b2"]);
    await finish("b2");
    expect(lane.status()).toMatchObject({ inFlight: 0, waiting: 0, waitingBytes: 0, waitingSenders: 0 });
  });

  it("is first come, first served when no request names a sender", async () => {
    const { lane, started, finish } = heldLane({ ...LIMITS, maxWaitingPerSender: 1 });
    for (const item of ["x", "y", "z"]) expect(lane.offer(item, 1)).toBeNull();
    for (const item of ["x", "y"]) await finish(item);
    expect(started).toEqual(["x", "y", "z"]);
  });

  it("turns away a named sender past its share, then everyone once no sender holds more than one", () => {
    const { lane } = heldLane(LIMITS);
    expect(lane.offer("running", 1, "a")).toBeNull();
    for (let i = 0; i < 3; i++) expect(lane.offer(`a${i}`, 1, "a")).toBeNull();
    expect(lane.offer("a3", 1, "a")).toBe("sender_full");
    expect(lane.status()).toMatchObject({ waiting: 3, rejected: 1 });

    const { lane: even } = heldLane(LIMITS);
    expect(even.offer("running", 1)).toBeNull();
    for (let i = 0; i < 10; i++) expect(even.offer(`s${i}`, 1, `sender-${i}`)).toBeNull();
    expect(even.offer("late", 1, "another")).toBe("lane_full");
    expect(even.offer("again", 1, "sender-0")).toBe("lane_full");
    expect(even.status()).toMatchObject({ waiting: 10, waitingSenders: 10, rejected: 2 });
  });

  it("lets a sender with fewer waiting push out the newest request of the sender with the most", async () => {
    const { lane, started, pushed, finish } = heldLane(LIMITS);
    expect(lane.offer("running", 1, "a")).toBeNull();
    // Three flooding identities fill the lane: 3 + 3 + 3, and one more of a fourth.
    for (const sender of ["a", "b", "c"]) {
      for (let i = 1; i <= 3; i++) expect(lane.offer(`${sender}${i}`, 1, sender)).toBeNull();
    }
    expect(lane.offer("d1", 1, "d")).toBeNull();
    expect(lane.status()).toMatchObject({ waiting: 10, rejected: 0 });

    expect(lane.offer("v1", 1, "victim")).toBeNull();
    expect(pushed).toEqual(["a3"]);
    expect(lane.offer("v2", 1, "victim")).toBeNull();
    expect(pushed).toEqual(["a3", "b3"]);
    // Now the victim would hold 3, as many as the most: it is turned away like anyone else.
    expect(lane.offer("v3", 1, "victim")).toBe("lane_full");
    expect(lane.status()).toMatchObject({ waiting: 10, waitingSenders: 5, rejected: 3 });

    // The victim's first request is started after one of each sender before it in turn.
    for (const item of ["running", "a1", "b1", "c1", "d1"]) await finish(item);
    expect(started).toEqual(["running", "a1", "b1", "c1", "d1", "v1"]);
  });

  it("pushes out the requests that name no sender like any other sender's", () => {
    const { lane, pushed } = heldLane(LIMITS);
    expect(lane.offer("running", 1)).toBeNull();
    for (let i = 0; i < 10; i++) expect(lane.offer(`old${i}`, 1)).toBeNull();
    expect(lane.offer("named", 1, "collector")).toBeNull();
    expect(pushed).toEqual(["old9"]);
    // Among themselves they stay first come, first served: the lane turns the next one away.
    expect(lane.offer("old10", 1)).toBe("lane_full");
  });

  it("bounds the waiting bytes whoever sends them, pushing out as many as the newcomer needs", () => {
    const { lane, pushed } = heldLane(LIMITS);
    expect(lane.offer("running", 900)).toBeNull();
    expect(lane.offer("big", 900, "a")).toBeNull();
    // `a` holds one request, as many as `b` would: no room is made.
    expect(lane.offer("more", 200, "b")).toBe("lane_full");
    expect(lane.status().waitingBytes).toBe(900);

    expect(pushed).toEqual([]);
    const { lane: byBytes, pushed: pushedMany } = heldLane(LIMITS);
    expect(byBytes.offer("running", 1)).toBeNull();
    for (let i = 0; i < 3; i++) expect(byBytes.offer(`a${i}`, 300, "a")).toBeNull();
    expect(byBytes.offer("b0", 650, "b")).toBeNull();
    expect(pushedMany).toEqual(["a2", "a1"]);
    expect(byBytes.status()).toMatchObject({ waiting: 2, waitingBytes: 950, rejected: 2 });
  });

  it("hands back every waiting request, in serving order, when serving stops", () => {
    const { lane } = heldLane(LIMITS);
    for (const item of ["a0", "a1", "a2", "b1"]) lane.offer(item, 10, item[0]);
    expect(lane.takeWaiting()).toEqual(["a1", "b1", "a2"]);
    expect(lane.status()).toMatchObject({ waiting: 0, waitingBytes: 0, waitingSenders: 0 });
  });
});

describe("commandOfSubject", () => {
  const key = `U${"A".repeat(55)}`;
  it.each([
    ["agent_token.authenticate", { name: "agent_token.authenticate", sender: "" }],
    [`agent_token.authenticate.${key}`, { name: "agent_token.authenticate", sender: key }],
    // Not a user's public key: names no command, so it is answered `unknown command`.
    ["agent_token.authenticate.anyone", { name: "agent_token.authenticate.anyone", sender: "" }],
    [`agent_token.authenticate.${key}.more`, { name: `agent_token.authenticate.${key}.more`, sender: "" }],
    // Only the collectors' commands take a sender.
    [`job.create.${key}`, { name: `job.create.${key}`, sender: "" }],
    ["job.create", { name: "job.create", sender: "" }],
  ])("%s", (rest, expected) => {
    expect(commandOfSubject(rest)).toEqual(expected);
  });
});
