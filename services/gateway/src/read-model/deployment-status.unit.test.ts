import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { composeClusterInfo } from "./cluster-info-queries.ts";
import { deploymentStatus } from "./deployment-status.ts";

const now = Date.parse("2025-01-01T12:00:00.000Z");

describe("deploymentStatus", () => {
  it.each([
    { heartbeatAgoMs: null, expected: "never_connected" },
    { heartbeatAgoMs: 0, expected: "connected" },
    { heartbeatAgoMs: CONNECTED_WITHIN_MS - 1, expected: "connected" },
    { heartbeatAgoMs: CONNECTED_WITHIN_MS, expected: "disconnected" },
    { heartbeatAgoMs: 24 * 3600_000, expected: "disconnected" },
    { heartbeatAgoMs: -5_000, expected: "connected" },
  ])("heartbeat $heartbeatAgoMs ms ago → $expected", ({ heartbeatAgoMs, expected }) => {
    const at = heartbeatAgoMs === null ? null : new Date(now - heartbeatAgoMs);
    expect(deploymentStatus(at, now)).toBe(expected);
  });
});

describe("composeClusterInfo", () => {
  it("is null until a snapshot exists, even with heartbeats", () => {
    expect(composeClusterInfo(null, new Date(now), now)).toBeNull();
  });
});
