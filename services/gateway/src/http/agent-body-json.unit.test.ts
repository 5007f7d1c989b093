import { type ClusterFacts, CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import type { AgentRow } from "../read-model/agent-queries.ts";
import { composeClusterInfo } from "../read-model/cluster-info-queries.ts";
import type { HeartbeatState } from "../read-model/deployment-status.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import {
  agentBodyJson,
  agentWithClusterInfoJson,
  clusterInfoChangesAt,
  clusterInfoJson,
  serializeClusterFacts,
} from "./agent-body-json.ts";
import { agentBody } from "./gitlab-bodies.ts";

const now = Date.parse("2025-01-01T12:00:00.000Z");

// Strings that need escaping in JSON, so splicing is checked against real serializer output.
const facts: ClusterFacts = {
  ...buildClusterFacts({ cluster_name: 'prod "eu" \\ \u2028 ünïcode }' }),
  node_ips: { external: ["52.1.2.3"], internal: ["10.0.1.5", "fd00::5"] },
  sources: { service_cidr: { kind: "missing", reason: "forbidden" } },
};

const project: ProjectRow = {
  id: 7,
  name: 'Infra "core"',
  path: "infra",
  description: null,
  namespace_id: 3,
  traversal_ids: [3],
  path_with_namespace: "acme/infra",
  name_with_namespace: 'Acme / Infra "core"',
  creator_id: 1,
  created_at: new Date("2024-01-01T00:00:00.000Z"),
};
const agent: AgentRow = {
  id: 11,
  name: "prod-agent",
  project_id: 7,
  created_at: new Date("2024-02-01T00:00:00.000Z"),
  created_by_user_id: null,
};

/** A last heartbeat, its silence confirmed when `confirmed` (`deploymentStatus`). */
function state(lastHeartbeat: Date | null, confirmed = false): HeartbeatState {
  return { lastHeartbeat, silenceConfirmedAt: confirmed ? new Date(now) : null };
}

describe("clusterInfoJson", () => {
  it.each([
    { case: "connected", heartbeat: state(new Date(now - 1_000)), status: "connected" },
    {
      case: "disconnected",
      heartbeat: state(new Date(now - CONNECTED_WITHIN_MS), true),
      status: "disconnected",
    },
    { case: "unknown", heartbeat: state(new Date(now - CONNECTED_WITHIN_MS)), status: "unknown" },
    { case: "never connected", heartbeat: state(null), status: "never_connected" },
  ])("is byte-for-byte JSON.stringify of the composed cluster_info ($case)", ({ heartbeat, status }) => {
    const expected = JSON.stringify(composeClusterInfo(facts, heartbeat, now));
    expect(JSON.parse(expected)).toMatchObject({ deployment_status: status });
    expect(clusterInfoJson(serializeClusterFacts({ facts, seq: 1 }), heartbeat, now)).toBe(expected);
  });

  it("is byte-for-byte JSON.stringify of the composed cluster_info with replicas (agent_pod_ip from the newest)", () => {
    const heartbeat = state(new Date(now - 1_000));
    const replicas = ["kasmap-collector-a", "kasmap-collector-b"].map((name, i) => ({
      collector_id: name,
      pod_name: name,
      pod_ip: `10.244.${i}.7`,
      namespace: "gitlab-agent",
      node: `node-${i}`,
      version: "0.1.0",
      commit: null,
      connected_at: new Date(now - 60_000),
      last_heartbeat_at: new Date(now - 1_000 - i),
      stopped_at: null,
    }));
    const expected = JSON.stringify(composeClusterInfo(facts, heartbeat, now, replicas));
    expect(JSON.parse(expected)).toMatchObject({ agent_pod_ip: "10.244.0.7", connections: [{}, {}] });
    expect(clusterInfoJson(serializeClusterFacts({ facts, seq: 1 }), heartbeat, now, replicas)).toBe(
      expected,
    );
  });

  it("lists, while the status is unknown, the collectors listed the instant before it turned unknown (byte-for-byte as composed)", () => {
    const last = now - CONNECTED_WITHIN_MS - 60_000;
    const replica = (name: string, heartbeatMs: number, ip: string) => ({
      collector_id: name,
      pod_name: name,
      pod_ip: ip,
      namespace: "gitlab-agent",
      node: "node-0",
      version: "0.1.0",
      commit: null,
      connected_at: new Date(last - 3_600_000),
      last_heartbeat_at: new Date(heartbeatMs),
      stopped_at: null,
    });
    // b went silent 4 minutes before the agent's last heartbeat, c 1 minute before: both had
    // left the list by the instant the status turned unknown, and neither comes back.
    const replicas = [
      replica("a", last, "10.244.0.10"),
      replica("c", last - 60_000, "10.244.0.12"),
      replica("b", last - 4 * 60_000, "10.244.0.11"),
    ];
    const cases = [
      { heartbeat: state(new Date(last)), status: "unknown", listed: ["a"], podIp: "10.244.0.10" },
      { heartbeat: state(new Date(last), true), status: "disconnected", listed: [], podIp: "10.244.0.10" },
    ];
    for (const { heartbeat, status, listed, podIp } of cases) {
      const composed = composeClusterInfo(facts, heartbeat, now, replicas);
      expect(composed).toMatchObject({ deployment_status: status, agent_pod_ip: podIp });
      expect(composed?.connections?.map((c) => c.collector_id)).toEqual(listed);
      expect(clusterInfoJson(serializeClusterFacts({ facts, seq: 1 }), heartbeat, now, replicas)).toBe(
        JSON.stringify(composed),
      );
    }
  });

  it("is null before the first snapshot", () => {
    expect(clusterInfoJson(null, state(new Date(now)), now)).toBe("null");
  });
});

describe("agentBodyJson and agentWithClusterInfoJson", () => {
  it("give the same text as serializing the composed body", () => {
    const info = composeClusterInfo(facts, state(new Date(now)), now);
    const spliced = agentWithClusterInfoJson(
      agentBodyJson(agent, project),
      clusterInfoJson(serializeClusterFacts({ facts, seq: 1 }), state(new Date(now)), now),
    );
    expect(spliced).toBe(JSON.stringify({ ...agentBody(agent, project), cluster_info: info }));
    expect(agentWithClusterInfoJson(agentBodyJson(agent, project), "null")).toBe(
      JSON.stringify({ ...agentBody(agent, project), cluster_info: null }),
    );
  });

  it("reuses a body only for the same project row object", () => {
    expect(agentBodyJson(agent, project)).toBe(JSON.stringify(agentBody(agent, project)));
    const renamed: ProjectRow = { ...project, name_with_namespace: "Acme / Renamed" };
    expect(JSON.parse(agentBodyJson(agent, renamed)).config_project.name_with_namespace).toBe(
      "Acme / Renamed",
    );
  });
});

describe("clusterInfoChangesAt", () => {
  const collector = (heartbeatMs: number, stopped: boolean) => ({
    collector_id: "c",
    pod_name: "c",
    pod_ip: "10.244.0.7",
    namespace: "gitlab-agent",
    node: "node-0",
    version: "0.1.0",
    commit: null,
    connected_at: new Date(heartbeatMs - 60_000),
    last_heartbeat_at: new Date(heartbeatMs),
    stopped_at: stopped ? new Date(heartbeatMs) : null,
  });

  it("is when the newest heartbeat or a live collector's turns stale, whichever comes first", () => {
    const heartbeat = new Date(now - 1_000);
    const older = collector(now - 5_000, false);
    expect(clusterInfoChangesAt(heartbeat, [older], now)).toBe(now - 5_000 + CONNECTED_WITHIN_MS);
    expect(clusterInfoChangesAt(heartbeat, [collector(now - 5_000, true)], now)).toBe(
      now - 1_000 + CONNECTED_WITHIN_MS,
    );
  });

  it("never, when nothing can turn stale any more", () => {
    expect(clusterInfoChangesAt(null, [], now)).toBe(Number.POSITIVE_INFINITY);
    expect(clusterInfoChangesAt(new Date(now - CONNECTED_WITHIN_MS), [], now)).toBe(Number.POSITIVE_INFINITY);
  });

  it("bounds a text that clusterInfoJson gives unchanged until then, and not after", () => {
    const heartbeat = new Date(now - 1_000);
    const collectors = [collector(now - 2_000, false)];
    const serialized = serializeClusterFacts({ facts, seq: 1 });
    const at = clusterInfoChangesAt(heartbeat, collectors, now);
    const text = clusterInfoJson(serialized, state(heartbeat), now, collectors);
    expect(clusterInfoJson(serialized, state(heartbeat), at - 1, collectors)).toBe(text);
    expect(clusterInfoJson(serialized, state(heartbeat), at, collectors)).not.toBe(text);
  });
});
