import { describe, expect, it } from "vitest";
import { agentRounds } from "./project-heartbeat-batch.ts";

const beat = (agent_id: number, seq: number) => ({ event: { data: { agent_id } }, seq });
const seqsOf = (rounds: { seq: number }[][]) => rounds.map((round) => round.map((item) => item.seq));

describe("agentRounds", () => {
  it("keeps heartbeats of distinct agents in one round, in stream order", () => {
    expect(seqsOf(agentRounds([beat(1, 1), beat(2, 2), beat(3, 3)]))).toEqual([[1, 2, 3]]);
  });

  it("deals each agent's k-th heartbeat into round k", () => {
    // Two replicas per agent, beating back to back: two rounds, however long the batch.
    const items = [beat(1, 1), beat(1, 2), beat(2, 3), beat(2, 4), beat(3, 5), beat(1, 6), beat(3, 7)];
    expect(seqsOf(agentRounds(items))).toEqual([[1, 3, 5], [2, 4, 7], [6]]);
  });

  it("gives no round for no heartbeat", () => {
    expect(agentRounds([])).toEqual([]);
  });
});
