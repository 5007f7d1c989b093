import type { MessageMeta } from "@kasmap/bus";
import { createTopology } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { collectorDeadLetterBudget } from "./consume/collector-dead-letters.ts";
import {
  collectorLimitsFromEnv,
  DEFAULT_COLLECTOR_LIMITS,
  ProjectionEnvSchema,
  replicaOptionsFromEnv,
} from "./projection-env.ts";

describe("the projection's collector limits from the environment", () => {
  it("defaults every limit", () => {
    expect(collectorLimitsFromEnv(ProjectionEnvSchema.parse({}))).toEqual(DEFAULT_COLLECTOR_LIMITS);
    expect(DEFAULT_COLLECTOR_LIMITS.deadLettersPerMinute).toBe(100);
  });

  it("reads the dead-letter budget and refuses one that is not a positive integer", () => {
    const env = ProjectionEnvSchema.parse({ KASMAP_PROJECTION_DEAD_LETTERS_PER_MINUTE: "5" });
    expect(collectorLimitsFromEnv(env).deadLettersPerMinute).toBe(5);
    for (const bad of ["0", "-1", "2.5", "many"]) {
      const parsed = ProjectionEnvSchema.safeParse({ KASMAP_PROJECTION_DEAD_LETTERS_PER_MINUTE: bad });
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(["KASMAP_PROJECTION_DEAD_LETTERS_PER_MINUTE"]);
    }
  });

  it("reads the bytes of dead-letter heads an agent may keep a minute (16 KiB, 0 for none) and refuses a negative or fractional one", () => {
    expect(DEFAULT_COLLECTOR_LIMITS.deadLetterHeadBytesPerMinute).toBe(16 * 1024);
    for (const [value, bytes] of [
      ["0", 0],
      ["4096", 4096],
    ] as const) {
      const env = ProjectionEnvSchema.parse({ KASMAP_PROJECTION_DEAD_LETTER_HEAD_BYTES_PER_MINUTE: value });
      expect(collectorLimitsFromEnv(env).deadLetterHeadBytesPerMinute).toBe(bytes);
    }
    for (const bad of ["-1", "2.5", "16KiB"]) {
      const parsed = ProjectionEnvSchema.safeParse({
        KASMAP_PROJECTION_DEAD_LETTER_HEAD_BYTES_PER_MINUTE: bad,
      });
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(["KASMAP_PROJECTION_DEAD_LETTER_HEAD_BYTES_PER_MINUTE"]);
    }
  });
});

describe("the projection's replica options from the environment", () => {
  it("gives the lease a time-to-live of 10 s unless told, and refuses one below 2 s or fractional", () => {
    expect(replicaOptionsFromEnv(ProjectionEnvSchema.parse({})).leaseTtlMs).toBe(10_000);
    const env = ProjectionEnvSchema.parse({ KASMAP_PROJECTION_LEASE_TTL_SECONDS: "30" });
    expect(replicaOptionsFromEnv(env).leaseTtlMs).toBe(30_000);
    for (const bad of ["1", "0", "2.5", "3601", "ten"]) {
      const parsed = ProjectionEnvSchema.safeParse({ KASMAP_PROJECTION_LEASE_TTL_SECONDS: bad });
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(["KASMAP_PROJECTION_LEASE_TTL_SECONDS"]);
    }
  });
});

describe("collectorDeadLetterBudget", () => {
  const topology = createTopology("budget");
  const meta = (agentId: number, seq: number): MessageMeta => ({
    stream: topology.streamNames.cluster,
    seq,
    subject: topology.subjects.clusterSnapshot(agentId),
    deliveryCount: 1,
    storedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
    bytes: 1,
  });

  it("gives each agent its budget of dead letters a minute, another agent its own", () => {
    const budget = collectorDeadLetterBudget(3);
    const admitted = [1, 2, 3, 4, 5].map((seq) => budget.admit(meta(7, seq)));
    expect(admitted).toEqual([true, true, true, false, false]);
    expect(budget.admit(meta(8, 6))).toBe(true);
    expect(budget.writerOf(topology.subjects.clusterSnapshot(7))).toBe("agent 7");
  });

  it("gives each agent its bytes of dead-letter heads a minute: 16 KiB unless told", () => {
    expect(collectorDeadLetterBudget(3).headBytesPerMinute).toBe(16 * 1024);
    expect(collectorDeadLetterBudget(3, 0).headBytesPerMinute).toBe(0);
  });
});
