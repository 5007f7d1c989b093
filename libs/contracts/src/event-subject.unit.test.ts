import { describe, expect, it } from "vitest";
import { eventBindingMismatch } from "./event-subject.ts";
import { EVENT_TYPES, newKasmapEvent } from "./events.ts";
import {
  createTopology,
  EVENT_BINDINGS,
  REGISTRY_EVENT_TYPES,
  REGISTRY_KINDS,
  type StreamRole,
} from "./topology.ts";

const topology = createTopology("kasmap");

function heartbeat(agentId: number, subject: string) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: "/test",
    subject,
    data: { agent_id: agentId, collector_id: "c", content_hash: null, sent_at: "2026-01-01T00:00:00.000Z" },
  });
}

function agentChanged(agentId: number, subject: string) {
  return newKasmapEvent({
    type: EVENT_TYPES.agentChanged,
    source: "/test",
    subject,
    data: {
      agent: {
        id: agentId,
        name: "a",
        project_id: 1,
        created_at: "2026-01-01T00:00:00.000Z",
        created_by_user_id: null,
        deleted_at: null,
      },
      actor_user_id: null,
    },
  });
}

const at = (stream: StreamRole, subject: string) => ({ root: "kasmap", stream, subject });

describe("eventBindingMismatch", () => {
  it.each([
    {
      case: "agent 42's heartbeat on its own subject",
      event: heartbeat(42, topology.subjects.clusterHeartbeat(42)),
      stored: at("heartbeat", topology.subjects.clusterHeartbeat(42)),
      reason: null,
    },
    {
      case: "a body claiming agent 43 on agent 42's subject",
      event: heartbeat(43, topology.subjects.clusterHeartbeat(42)),
      stored: at("heartbeat", topology.subjects.clusterHeartbeat(42)),
      reason: /data names 43/,
    },
    {
      case: "an envelope naming another subject than the one it was stored under",
      event: heartbeat(43, topology.subjects.clusterHeartbeat(43)),
      stored: at("heartbeat", topology.subjects.clusterHeartbeat(42)),
      reason: /envelope subject/,
    },
    {
      case: "a heartbeat on the snapshot subject",
      event: heartbeat(42, topology.subjects.clusterSnapshot(42)),
      stored: at("cluster", topology.subjects.clusterSnapshot(42)),
      reason: /belongs to the heartbeat stream/,
    },
    {
      case: "a registry event whose entity id matches its subject",
      event: agentChanged(7, topology.subjects.registryChanged("agent", 7)),
      stored: at("registry", topology.subjects.registryChanged("agent", 7)),
      reason: null,
    },
    {
      case: "a registry event whose entity id differs from its subject",
      event: agentChanged(8, topology.subjects.registryChanged("agent", 7)),
      stored: at("registry", topology.subjects.registryChanged("agent", 7)),
      reason: /data names 8/,
    },
    {
      case: "an agent event on the user subject of the same id",
      event: agentChanged(7, topology.subjects.registryChanged("user", 7)),
      stored: at("registry", topology.subjects.registryChanged("user", 7)),
      reason: /belongs on kasmap\.registry\.agent\.\{id\}\.changed/,
    },
    {
      case: "an agent event on an agent's snapshot subject",
      event: agentChanged(7, topology.subjects.clusterSnapshot(7)),
      stored: at("cluster", topology.subjects.clusterSnapshot(7)),
      reason: /belongs to the registry stream/,
    },
  ])("$case", ({ event, stored, reason }) => {
    const mismatch = eventBindingMismatch(event, stored);
    if (reason === null) expect(mismatch).toBeNull();
    else expect(mismatch).toMatch(reason);
  });
});

describe("EVENT_BINDINGS", () => {
  it("binds each registry kind's event type to that kind's subject", () => {
    for (const kind of REGISTRY_KINDS) {
      const binding = EVENT_BINDINGS[REGISTRY_EVENT_TYPES[kind]];
      expect(binding.stream).toBe("registry");
      expect(binding.pattern[1]).toBe(kind);
      expect(topology.subjects.registryChanged(kind, 5)).toBe(`kasmap.registry.${kind}.5.changed`);
    }
  });

  it("builds the cluster and authz subjects from the bindings", () => {
    expect(topology.subjects.clusterSnapshot(5)).toBe("kasmap.cluster.5.snapshot");
    expect(topology.subjects.clusterHeartbeat(5)).toBe("kasmap.cluster.5.heartbeat");
    expect(topology.subjects.authzChanged(5)).toBe("kasmap.authz.5.changed");
  });
});
