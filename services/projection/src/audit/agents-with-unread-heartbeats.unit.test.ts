import { describe, expect, it } from "vitest";
import { partitionOfAgent } from "../partitions/agent-partition.ts";
import { type HeartbeatCheckpoints, heartbeatCheckpointOf } from "./agents-with-unread-heartbeats.ts";

// Agent 1 is in partition 0 of 2 and 1 of 3; agent 2 in partition 1 of 2 and 1 of 3.
const layouts: HeartbeatCheckpoints["partitions"] = [
  { count: 2, index: 0, seq: 40 },
  { count: 2, index: 1, seq: 90 },
  { count: 3, index: 0, seq: 99 },
  { count: 3, index: 1, seq: 55 },
  { count: 3, index: 2, seq: 70 },
];

describe("heartbeatCheckpointOf", () => {
  it("places the agents of the table as it says", () => {
    expect([1, 2].map((id) => [partitionOfAgent(id, 2), partitionOfAgent(id, 3)])).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });

  it.each([
    { case: "nothing stored", checkpoints: { whole: 0, partitions: [] }, agentId: 1, expected: 0 },
    {
      case: "the whole stream's alone",
      checkpoints: { whole: 17, partitions: [] },
      agentId: 1,
      expected: 17,
    },
    {
      case: "its own partition's, not another's further on",
      checkpoints: { whole: 0, partitions: layouts.slice(0, 2) },
      agentId: 1,
      expected: 40,
    },
    {
      case: "the furthest of its partitions in every layout",
      checkpoints: { whole: 10, partitions: layouts },
      agentId: 1,
      expected: 55,
    },
    {
      case: "the whole stream's when it is ahead of the partitions",
      checkpoints: { whole: 120, partitions: layouts },
      agentId: 2,
      expected: 120,
    },
  ])("$case", ({ checkpoints, agentId, expected }) => {
    expect(heartbeatCheckpointOf(checkpoints, agentId)).toBe(expected);
  });
});
