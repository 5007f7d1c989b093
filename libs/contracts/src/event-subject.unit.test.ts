import { describe, expect, it } from "vitest";
import { eventSubjectMismatch } from "./event-subject.ts";
import { EVENT_TYPES, newKasmapEvent } from "./events.ts";
import { createTopology } from "./topology.ts";

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

describe("eventSubjectMismatch", () => {
  it.each([
    {
      case: "agent 42's heartbeat on its own subject",
      event: heartbeat(42, topology.subjects.clusterHeartbeat(42)),
      nats: topology.subjects.clusterHeartbeat(42),
      rejected: false,
    },
    {
      case: "a body claiming agent 43 on agent 42's subject",
      event: heartbeat(43, topology.subjects.clusterHeartbeat(42)),
      nats: topology.subjects.clusterHeartbeat(42),
      rejected: true,
    },
    {
      case: "an envelope naming another subject than the one it was stored under",
      event: heartbeat(43, topology.subjects.clusterHeartbeat(43)),
      nats: topology.subjects.clusterHeartbeat(42),
      rejected: true,
    },
    {
      case: "a registry event whose entity id matches its subject",
      event: agentChanged(7, topology.subjects.registryChanged("agent", 7)),
      nats: topology.subjects.registryChanged("agent", 7),
      rejected: false,
    },
    {
      case: "a registry event whose entity id differs from its subject",
      event: agentChanged(8, topology.subjects.registryChanged("agent", 7)),
      nats: topology.subjects.registryChanged("agent", 7),
      rejected: true,
    },
  ])("$case", ({ event, nats, rejected }) => {
    expect(eventSubjectMismatch(event, nats) !== null).toBe(rejected);
  });
});
