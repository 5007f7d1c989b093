import { describe, expect, it } from "vitest";
import { COLLECTOR_SUBJECT_TOKEN_PATTERN, collectorSubjectToken } from "./collector-subject-token.ts";
import { eventBindingMismatch } from "./event-subject.ts";
import { EVENT_TYPES, newKasmapEvent } from "./events.ts";
import { boundSubjectId, createTopology } from "./topology.ts";

const topology = createTopology("kasmap");
const POD = "kasmap-collector-5d8f9c7b6-x2x9q";

describe("collectorSubjectToken", () => {
  it.each([
    { case: "a pod name", id: POD },
    { case: "a pod name with dots", id: "collector.eu-west-1.replica-a" },
    { case: "a UUID (outside Kubernetes)", id: "4b0e7c7e-2a55-4d1b-9d38-0c0f6f1f8a1e" },
    { case: "NATS wildcards and spaces", id: "a.*.> b" },
  ])("is one NATS-safe token for $case", ({ id }) => {
    const token = collectorSubjectToken(id);
    expect(token).toMatch(COLLECTOR_SUBJECT_TOKEN_PATTERN);
    expect(collectorSubjectToken(id)).toBe(token);
  });

  it("differs between the replicas of one agent", () => {
    expect(collectorSubjectToken(`${POD}-a`)).not.toBe(collectorSubjectToken(`${POD}-b`));
  });

  it("ends the collector's heartbeat subject, one token after the agent's", () => {
    expect(topology.subjects.clusterCollectorHeartbeat(5, "collector.with.dots")).toBe(
      `kasmap.cluster.5.heartbeat.${collectorSubjectToken("collector.with.dots")}`,
    );
    expect(topology.subjects.clusterCollectorHeartbeats(5)).toBe("kasmap.cluster.5.heartbeat.*");
  });
});

function heartbeat(agentId: number, collectorId: string, subject: string) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: "/test",
    subject,
    data: {
      agent_id: agentId,
      collector_id: collectorId,
      content_hash: null,
      sent_at: "2026-01-01T00:00:00.000Z",
      pod_name: collectorId,
      node: "node-1",
    },
  });
}

const at = (subject: string) => ({ root: "kasmap", stream: "heartbeat" as const, subject });
const own = topology.subjects.clusterCollectorHeartbeat(42, POD);

describe("a heartbeat on a collector's own subject", () => {
  it.each([
    { case: "that collector's heartbeat", event: heartbeat(42, POD, own), reason: null },
    {
      case: "the heartbeat of another collector of the agent",
      event: heartbeat(42, "other-pod", own),
      reason: /data names collector other-pod/,
    },
    { case: "a body claiming agent 43", event: heartbeat(43, POD, own), reason: /data names 43/ },
    {
      case: "a token that is no collector token",
      event: heartbeat(42, POD, "kasmap.cluster.42.heartbeat.extra"),
      reason: /belongs on kasmap\.cluster\.\{id\}\.heartbeat\[\.<collector>\]/,
    },
    {
      case: "two tokens after the agent's subject",
      event: heartbeat(42, POD, `${own}.more`),
      reason: /belongs on/,
    },
  ])("$case", ({ event, reason }) => {
    const mismatch = eventBindingMismatch(event, at(event.subject));
    if (reason === null) expect(mismatch).toBeNull();
    else expect(mismatch).toMatch(reason);
  });

  it("names the agent and the collector token", () => {
    expect(boundSubjectId("kasmap", EVENT_TYPES.clusterHeartbeat, own)).toEqual({
      ok: true,
      id: 42,
      collectorToken: collectorSubjectToken(POD),
    });
    expect(boundSubjectId("kasmap", EVENT_TYPES.clusterHeartbeat, "kasmap.cluster.42.heartbeat")).toEqual({
      ok: true,
      id: 42,
      collectorToken: null,
    });
  });
});
