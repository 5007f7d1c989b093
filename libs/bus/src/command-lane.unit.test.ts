import { describe, expect, it } from "vitest";
import { createCommandLane } from "./command-lane.ts";
import { commandOfSubject } from "./commands.ts";

/** A lane whose requests run until the test ends them, so nothing here depends on time. */
function heldLane(limits: Parameters<typeof createCommandLane>[0]) {
  const started: string[] = [];
  const running = new Map<string, () => void>();
  const lane = createCommandLane<string>(limits, (item) => {
    started.push(item);
    return new Promise<void>((resolve) => running.set(item, resolve));
  });
  return {
    lane,
    started,
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

  it("turns away a named sender past its share, then the others past the lane's bound", () => {
    const { lane } = heldLane(LIMITS);
    expect(lane.offer("running", 1, "a")).toBeNull();
    for (let i = 0; i < 3; i++) expect(lane.offer(`a${i}`, 1, "a")).toBeNull();
    expect(lane.offer("a3", 1, "a")).toBe("sender_full");
    for (let i = 0; i < 7; i++) expect(lane.offer(`s${i}`, 1, `sender-${i}`)).toBeNull();
    expect(lane.offer("late", 1, "another")).toBe("lane_full");
    expect(lane.status()).toMatchObject({ waiting: 10, waitingSenders: 8, rejected: 2 });
  });

  it("bounds the waiting bytes whoever sends them", () => {
    const { lane } = heldLane(LIMITS);
    expect(lane.offer("running", 900)).toBeNull();
    expect(lane.offer("big", 900, "a")).toBeNull();
    expect(lane.offer("more", 200, "b")).toBe("lane_full");
    expect(lane.status().waitingBytes).toBe(900);
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
