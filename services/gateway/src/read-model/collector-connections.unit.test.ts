import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { agentPodIpOf, type CollectorConnectionRow, liveConnections } from "./collector-connections.ts";

const now = Date.parse("2025-01-01T12:00:00.000Z");

function collector(name: string, heartbeatAgoMs: number, more: Partial<CollectorConnectionRow> = {}) {
  return {
    collector_id: name,
    pod_name: name,
    pod_ip: `10.244.0.${name.length}`,
    namespace: "gitlab-agent",
    node: "node-1",
    version: "0.1.0",
    commit: null,
    connected_at: new Date(now - 3_600_000),
    last_heartbeat_at: new Date(now - heartbeatAgoMs),
    stopped_at: null,
    ...more,
  } satisfies CollectorConnectionRow;
}

describe("liveConnections", () => {
  it.each([
    { case: "a collector that beat just now", row: collector("a", 1_000), live: true },
    { case: "one just inside the threshold", row: collector("a", CONNECTED_WITHIN_MS - 1), live: true },
    {
      case: "one whose last heartbeat is as old as the threshold",
      row: collector("a", CONNECTED_WITHIN_MS),
      live: false,
    },
    { case: "one from the future (clock skew)", row: collector("a", -60_000), live: true },
    {
      case: "one that said it stopped",
      row: collector("a", 1_000, { stopped_at: new Date(now - 1_000) }),
      live: false,
    },
  ])("$case is live: $live", ({ row, live }) => {
    expect(liveConnections([row], now)).toHaveLength(live ? 1 : 0);
  });

  it("lists every live replica in the order given, with GitLab-like fields", () => {
    const rows = [collector("b", 1_000), collector("a", 20_000), collector("old", CONNECTED_WITHIN_MS * 2)];
    expect(liveConnections(rows, now)).toEqual([
      {
        collector_id: "b",
        pod_name: "b",
        pod_ip: "10.244.0.1",
        namespace: "gitlab-agent",
        node: "node-1",
        version: "0.1.0",
        commit: null,
        connected_at: "2025-01-01T11:00:00.000Z",
        last_heartbeat_at: "2025-01-01T11:59:59.000Z",
      },
      expect.objectContaining({ collector_id: "a", last_heartbeat_at: "2025-01-01T11:59:40.000Z" }),
    ]);
  });
});

describe("agentPodIpOf", () => {
  it.each([
    {
      case: "no heartbeat names a pod IP: the snapshot's",
      rows: [collector("a", 1, { pod_ip: null })],
      ip: "10.0.0.9",
    },
    {
      case: "the newest live heartbeat's",
      rows: [collector("bb", 1_000), collector("a", 2_000)],
      ip: "10.244.0.2",
    },
    {
      case: "a live one before a newer stopped one",
      rows: [collector("bb", 1_000, { stopped_at: new Date(now) }), collector("a", 2_000)],
      ip: "10.244.0.1",
    },
    {
      case: "none live: the newest that named one",
      rows: [collector("bb", CONNECTED_WITHIN_MS + 1), collector("a", CONNECTED_WITHIN_MS + 2)],
      ip: "10.244.0.2",
    },
  ])("$case", ({ rows, ip }) => {
    expect(agentPodIpOf("10.0.0.9", rows, now)).toBe(ip);
  });
});
