import { parseStoredEvent } from "@kasmap/bus";
import {
  createTopology,
  EVENT_BINDINGS,
  EVENT_TYPES,
  type EventType,
  type KasmapEvent,
  REGISTRY_KINDS,
  type StreamRole,
} from "@kasmap/contracts";
import { oneEventOfEachType } from "@kasmap/testing";
import { describe, expect, it } from "vitest";

/**
 * Issue 7.1: every (subject kind × event type) pair. An event passes the consumer's edge only
 * on the subject its type is bound to, read from the stream its type is bound to; each forged
 * pair names the reason.
 */
const topology = createTopology("kasmap");
const ID = 7;

/** One valid event of every type, about aggregate `ID`. */
const SAMPLES = oneEventOfEachType(topology, ID);

/** Every subject kind a publisher can reach, with the stream that stores it and its own type. */
const SUBJECT_KINDS: { kind: string; subject: string; stream: StreamRole; owner: EventType }[] = [
  {
    kind: "cluster snapshot",
    subject: topology.subjects.clusterSnapshot(ID),
    stream: "cluster",
    owner: EVENT_TYPES.clusterSnapshot,
  },
  {
    kind: "cluster heartbeat",
    subject: topology.subjects.clusterHeartbeat(ID),
    stream: "heartbeat",
    owner: EVENT_TYPES.clusterHeartbeat,
  },
  {
    kind: "authz changed",
    subject: topology.subjects.authzChanged(ID),
    stream: "authz",
    owner: EVENT_TYPES.authzChanged,
  },
  {
    kind: "alert cluster changed",
    subject: topology.subjects.alert(EVENT_TYPES.alertClusterChanged, ID),
    stream: "alerts",
    owner: EVENT_TYPES.alertClusterChanged,
  },
  {
    kind: "alert cluster conflict",
    subject: topology.subjects.alert(EVENT_TYPES.alertClusterConflict, ID),
    stream: "alerts",
    owner: EVENT_TYPES.alertClusterConflict,
  },
  {
    kind: "agent refused",
    subject: topology.subjects.agentChangeRefused(ID),
    stream: "registry",
    owner: EVENT_TYPES.agentChangeRefused,
  },
  ...REGISTRY_KINDS.map((kind) => {
    const owner = (Object.keys(EVENT_BINDINGS) as EventType[]).find(
      (type) => EVENT_BINDINGS[type].pattern.join(".") === `registry.${kind}.{id}.changed`,
    );
    if (!owner) throw new Error(`no event type bound to registry kind ${kind}`);
    return {
      kind: `registry ${kind}`,
      subject: topology.subjects.registryChanged(kind, ID),
      stream: "registry" as const,
      owner,
    };
  }),
];

const PAIRS = SUBJECT_KINDS.flatMap((place) =>
  Object.values(EVENT_TYPES).map((type) => ({ ...place, type, accepted: type === place.owner })),
);

function encode(event: KasmapEvent, subject: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ ...event, subject }));
}

describe("event bindings at the consumer's edge", () => {
  it("covers every subject kind × every event type", () => {
    expect(PAIRS).toHaveLength(14 * Object.values(EVENT_TYPES).length);
    expect(PAIRS.filter((p) => p.accepted)).toHaveLength(Object.values(EVENT_TYPES).length);
  });

  it.each(PAIRS)("$type on a $kind subject: accepted = $accepted", ({ type, subject, stream, accepted }) => {
    const parsed = parseStoredEvent(encode(SAMPLES[type], subject), { root: topology.root, stream, subject });
    if (accepted) {
      expect(parsed).toEqual({ ok: true, event: { ...SAMPLES[type], subject } });
    } else {
      expect(parsed).toEqual({ ok: false, reason: expect.stringContaining(type) });
    }
  });

  it("rejects an event of the right type read from another stream's consumer", () => {
    const subject = topology.subjects.clusterSnapshot(ID);
    const parsed = parseStoredEvent(encode(SAMPLES[EVENT_TYPES.clusterSnapshot], subject), {
      root: topology.root,
      stream: "registry",
      subject,
    });
    expect(parsed).toEqual({ ok: false, reason: expect.stringMatching(/belongs to the cluster stream/) });
  });

  it.each([
    { case: "another root", subject: "other.cluster.7.snapshot" },
    { case: "an extra token", subject: "kasmap.cluster.7.snapshot.x" },
    { case: "a non-numeric id", subject: "kasmap.cluster.seven.snapshot" },
    { case: "a zero-padded id", subject: "kasmap.cluster.07.snapshot" },
  ])("rejects a snapshot on $case", ({ subject }) => {
    const parsed = parseStoredEvent(encode(SAMPLES[EVENT_TYPES.clusterSnapshot], subject), {
      root: topology.root,
      stream: "cluster",
      subject,
    });
    expect(parsed.ok).toBe(false);
  });
});
