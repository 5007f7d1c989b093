import { describe, expect, it } from "vitest";
import { partitionOfAgent, partitionOfAgentSubject, partitionOfToken } from "./agent-partition.ts";

describe("partitionOfToken", () => {
  // FNV-1a 32-bit reference values (draft-eastlake-fnv test vectors): "" → 0x811c9dc5,
  // "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
  it.each([
    { token: "", count: 1_000_000_007, partition: 0x811c9dc5 % 1_000_000_007 },
    { token: "a", count: 1_000_000_007, partition: 0xe40c292c % 1_000_000_007 },
    { token: "foobar", count: 1_000_000_007, partition: 0xbf9cf968 % 1_000_000_007 },
    { token: "foobar", count: 7, partition: 0xbf9cf968 % 7 },
    { token: "42", count: 1, partition: 0 },
  ])("FNV-1a of '$token' modulo $count", ({ token, count, partition }) => {
    expect(partitionOfToken(token, count)).toBe(partition);
  });

  it("hashes the UTF-8 bytes, not UTF-16 code units", () => {
    // "é" is the bytes c3 a9: FNV-1a of those two bytes.
    const expected = Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0;
    expect(partitionOfToken("é", 2 ** 31)).toBe(expected % 2 ** 31);
  });

  it("refuses a partition count below 1", () => {
    expect(() => partitionOfToken("1", 0)).toThrow(RangeError);
    expect(() => partitionOfToken("1", 1.5)).toThrow(RangeError);
  });

  it("spreads agents over the partitions (1,000 agents, 3 partitions: none under 25 %)", () => {
    const counts = [0, 0, 0];
    for (let agent = 1; agent <= 1_000; agent++) {
      const p = partitionOfAgent(agent, 3);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(250);
  });
});

describe("partitionOfAgentSubject", () => {
  it.each([
    { subject: "kasmap.cluster.42.snapshot", partition: partitionOfAgent(42, 5) },
    { subject: "kasmap.cluster.42.heartbeat", partition: partitionOfAgent(42, 5) },
    { subject: "kasmap.cluster.42.heartbeat.c0ffee", partition: partitionOfAgent(42, 5) },
    { subject: "other_root.cluster.7.snapshot", partition: partitionOfAgent(7, 5) },
    // No agent token: partition 0 owns it (and dead-letters it).
    { subject: "kasmap.cluster", partition: 0 },
    { subject: "kasmap.cluster..snapshot", partition: 0 },
  ])("$subject → $partition of 5", ({ subject, partition }) => {
    expect(partitionOfAgentSubject(subject, 5)).toBe(partition);
  });

  it("puts all of one agent's subjects in one partition, for every count", () => {
    for (let count = 1; count <= 16; count++) {
      const partitions = new Set(
        ["snapshot", "heartbeat", "heartbeat.abc"].map((tail) =>
          partitionOfAgentSubject(`kasmap.cluster.1234.${tail}`, count),
        ),
      );
      expect(partitions).toEqual(new Set([partitionOfAgent(1234, count)]));
    }
  });
});
