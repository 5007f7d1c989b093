import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { composeClusterInfo } from "./cluster-info-queries.ts";
import { deploymentStatus } from "./deployment-status.ts";

const now = Date.parse("2025-01-01T12:00:00.000Z");

describe("deploymentStatus", () => {
  it.each([
    { heartbeatAgoMs: null, confirmed: false, expected: "never_connected" },
    { heartbeatAgoMs: 0, confirmed: false, expected: "connected" },
    { heartbeatAgoMs: CONNECTED_WITHIN_MS - 1, confirmed: false, expected: "connected" },
    // Older than the window: disconnected only once the projection confirmed the silence.
    { heartbeatAgoMs: CONNECTED_WITHIN_MS, confirmed: false, expected: "unknown" },
    { heartbeatAgoMs: CONNECTED_WITHIN_MS, confirmed: true, expected: "disconnected" },
    { heartbeatAgoMs: 24 * 3600_000, confirmed: false, expected: "unknown" },
    { heartbeatAgoMs: 24 * 3600_000, confirmed: true, expected: "disconnected" },
    // Clock skew: a heartbeat from the future is connected.
    { heartbeatAgoMs: -5_000, confirmed: false, expected: "connected" },
    // This gateway's clock behind the projection's, which confirmed already: the age here decides.
    { heartbeatAgoMs: CONNECTED_WITHIN_MS - 1, confirmed: true, expected: "connected" },
  ])(
    "heartbeat $heartbeatAgoMs ms ago, silence confirmed: $confirmed → $expected",
    ({ heartbeatAgoMs, confirmed, expected }) => {
      const lastHeartbeat = heartbeatAgoMs === null ? null : new Date(now - heartbeatAgoMs);
      const silenceConfirmedAt = confirmed ? new Date(now) : null;
      expect(deploymentStatus({ lastHeartbeat, silenceConfirmedAt }, now)).toBe(expected);
    },
  );
});

describe("composeClusterInfo", () => {
  it("is null until a snapshot exists, even with heartbeats", () => {
    expect(
      composeClusterInfo(null, { lastHeartbeat: new Date(now), silenceConfirmedAt: null }, now),
    ).toBeNull();
  });
});
