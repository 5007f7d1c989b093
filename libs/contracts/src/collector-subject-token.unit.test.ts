import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  COLLECTOR_SUBJECT_TOKEN_PATTERN,
  COLLECTOR_SUBJECT_TOKENS,
  collectorSubjectToken,
  isCollectorSubjectToken,
} from "./collector-subject-token.ts";
import { eventBindingMismatch } from "./event-subject.ts";
import { EVENT_TYPES, newKasmapEvent } from "./events.ts";
import { boundSubjectId, createTopology } from "./topology.ts";

const topology = createTopology("kasmap");
const digestOf = (text: string) => createHash("sha256").update(text).digest("hex");
const POD = "kasmap-collector-5d8f9c7b6-x2x9q";

describe("collectorSubjectToken", () => {
  it.each([
    { case: "a pod name", id: POD },
    { case: "a pod name with dots", id: "collector.eu-west-1.replica-a" },
    { case: "a UUID (outside Kubernetes)", id: "4b0e7c7e-2a55-4d1b-9d38-0c0f6f1f8a1e" },
    { case: "NATS wildcards and spaces", id: "a.*.> b" },
  ])("is one NATS-safe token, one of the 16, for $case", ({ id }) => {
    const token = collectorSubjectToken(id);
    expect(token).toMatch(COLLECTOR_SUBJECT_TOKEN_PATTERN);
    expect(COLLECTOR_SUBJECT_TOKENS).toContain(token);
    expect(collectorSubjectToken(id)).toBe(token);
  });

  it("spreads replicas over the 16 tokens (the first hex digit of the SHA-256 of the collector id)", () => {
    const seen = new Set(Array.from({ length: 200 }, (_, i) => collectorSubjectToken(`${POD}-${i}`)));
    expect([...seen].sort()).toEqual([...COLLECTOR_SUBJECT_TOKENS]);
    // sha256("a") = ca978112…, sha256("b") = 3e23e816…
    expect([collectorSubjectToken("a"), collectorSubjectToken("b")]).toEqual(["c", "3"]);
  });

  it("accepts a collector's own token in either length, the 32 digits of collectors before one-digit tokens", () => {
    expect(isCollectorSubjectToken("c", "a")).toBe(true);
    expect(isCollectorSubjectToken("ca978112ca1bbdcafac231b39a23dc4d", "a")).toBe(true);
    expect(isCollectorSubjectToken("3", "a")).toBe(false);
    expect(isCollectorSubjectToken("3e23e8160039594a33894f6564e1b134", "a")).toBe(false);
    expect(COLLECTOR_SUBJECT_TOKEN_PATTERN.test("ca")).toBe(false);
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
      case: "that collector's heartbeat from before one-digit tokens (32 digits)",
      event: heartbeat(42, POD, `kasmap.cluster.42.heartbeat.${digestOf(POD).slice(0, 32)}`),
      reason: null,
    },
    {
      case: "another collector's heartbeat on a 32-digit subject",
      event: heartbeat(42, "other-pod", `kasmap.cluster.42.heartbeat.${digestOf(POD).slice(0, 32)}`),
      reason: /data names collector other-pod/,
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
