import { clusterFactsContentHash } from "@kasmap/cluster-info";
import { type ClusterFacts, EVENT_TYPES, newKasmapEvent, type Topology } from "@kasmap/contracts";
import { DEFAULT_COLLECTOR_LIMITS } from "@kasmap/projection-service";
import fc from "fast-check";
import { facts } from "./incident-response-fixture.ts";

/**
 * fast-check arbitraries for what a collector's stolen credentials can publish: anything, but
 * only on its own agent's subjects (`cluster.<A>.snapshot`, `cluster.<A>.heartbeat`,
 * `cluster.<A>.heartbeat.<token>`), as the NATS permissions of a collector allow. Most messages
 * start as a valid snapshot or heartbeat of agent A and are then mutated; the rest are raw bytes.
 */
export type CollectorFuzzTarget = {
  topology: Topology;
  /** The agent whose credentials the attacker holds. */
  attacker: number;
  /** Another agent, in another project: its id shows up in the attacker's data. */
  other: number;
};

/** One message as published: where, the bytes, the `Nats-Msg-Id` a collector would set, and a label. */
export type AttackerMessage = {
  subject: string;
  body: Uint8Array;
  msgID?: string;
  /** What the message was made of, short enough for a failure report. */
  label: string;
  /** How fast-check prints it in a counterexample: the label, not every byte. */
  [fc.toStringMethod]: () => string;
};

/** A message with `label` as what fast-check prints of it. */
function attackerMessage(fields: Omit<AttackerMessage, typeof fc.toStringMethod>): AttackerMessage {
  return {
    ...fields,
    [fc.toStringMethod]: () => `${fields.subject.split(".").slice(1).join(".")} ${fields.label}`,
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = readonly (string | number)[];
type Kind = "snapshot" | "heartbeat" | "legacy-heartbeat";

/**
 * Markers replaced in the serialised text, for what `JSON.stringify` cannot write: a key twice
 * in one object (`@@dup@@<key>` becomes `<key>`) and numbers beyond a double (`"@@num@@<digits>"`
 * becomes the bare digits).
 */
const DUP = "@@dup@@";
const NUM = "@@num@@";

/** A plausible cluster's facts, varied by `name` (the incident-response fixture's, named). */
export function fuzzFacts(name: string, overrides: Partial<ClusterFacts> = {}): ClusterFacts {
  return facts({
    cluster_name: name,
    cluster_context: `${name}-ctx`,
    kubernetes_version: { major: "1", minor: "30", git_version: "v1.30.2", platform: "linux/amd64" },
    zones: ["eu-west-1a"],
    observed_at: new Date(Date.now() - 1000).toISOString(),
    sources: { kubernetes_version: { kind: "observed", source: "/version" } },
    ...overrides,
  });
}

/** A valid snapshot event of `agentId`, as its collector publishes it. */
export function honestSnapshot(topology: Topology, agentId: number, facts: ClusterFacts) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterSnapshot,
    source: "/kasmap/collector",
    subject: topology.subjects.clusterSnapshot(agentId),
    data: { agent_id: agentId, content_hash: clusterFactsContentHash(facts), cluster: facts },
  });
}

/** A valid heartbeat of collector `collectorId` of `agentId` on its own subject (or the legacy one). */
export function honestHeartbeat(
  topology: Topology,
  agentId: number,
  collectorId: string,
  sentAt: Date,
  legacySubject = false,
) {
  return newKasmapEvent({
    type: EVENT_TYPES.clusterHeartbeat,
    source: `/kasmap/collector/${collectorId}`,
    subject: legacySubject
      ? topology.subjects.clusterHeartbeat(agentId)
      : topology.subjects.clusterCollectorHeartbeat(agentId, collectorId),
    data: {
      agent_id: agentId,
      collector_id: collectorId,
      content_hash: null,
      sent_at: sentAt.toISOString(),
      pod_name: collectorId,
      pod_ip: "10.244.1.17",
      namespace: "gitlab-agent",
      node: "node-1",
      version: "0.1.0",
      commit: null,
    },
  });
}

/** Every path of `value` (objects and arrays walked, the root excluded). */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== "object") return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function parentOf(root: Json, path: Path): Record<string | number, Json> | null {
  let node: Json = root;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== "object") return null;
    node = (node as Record<string | number, Json>)[key] ?? null;
  }
  return node !== null && typeof node === "object" ? (node as Record<string | number, Json>) : null;
}

/** Strings that have broken parsers, columns and address code elsewhere. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\udc00x",
    "x\ud83d",
    "\ufeff",
    "é",
    "1.2.3.4/33",
    "::/0",
    "0.0.0.0/0",
    "999.1.1.1",
    "::ffff:10.0.0.1",
    "::ffff:10.0.0.0/104",
    "fe80::1%eth0",
    "10.0.0.1/8",
    "10.0.0.0/-1",
    "1.2.3",
    "0x0a.0.0.1",
    "2026-13-45T99:99:99Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+14:00",
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00-23:59",
    "io.kasmap.cluster.snapshot.v1",
    "__proto__",
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
  // Around the schemas' limits: pod_ip 45, namespace 63, version 64, id 128, collector_id 253.
  fc
    .tuple(
      fc.constantFrom(44, 45, 46, 63, 64, 65, 128, 129, 253, 254, 2000, 4097),
      fc.constantFrom("a", "é", "\u0000"),
    )
    .map(([n, c]) => c.repeat(n)),
);

/** Numbers no id or count may be: beyond 2^53 (also as digits a double cannot hold), negative, fractional. */
const hostileNumber: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(0, -1, -0, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e300, -1e-300, Number.MAX_VALUE),
  fc
    .constantFrom("9007199254740993", "99999999999999999999999999", "1e400", "-1e400", "1.0")
    .map((digits) => `${NUM}${digits}`),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

function hostileValue(target: CollectorFuzzTarget): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
    { weight: 4, arbitrary: hostileString },
    { weight: 3, arbitrary: hostileNumber },
    { weight: 2, arbitrary: fc.constant(target.other) },
    { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 5 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Json>(
        JSON.parse('{"__proto__":{"polluted":true}}') as Json,
        { constructor: { prototype: { polluted: true } } },
        { toString: 1, valueOf: "x" },
      ),
    },
  );
}

/** Many node addresses: a big cluster's, or just past the projection's snapshot limit. */
const hugeNodeList: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom(1_000, 5_000, 40_000), fc.boolean())
  .map(([n, malformed]) =>
    Array.from({ length: n }, (_, i) =>
      malformed && i % 7 === 0 ? "999.1.1.1" : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    ),
  );

/** The projection's snapshot limit: a cluster name about this long lands on either side of it. */
const SNAPSHOT_MAX_BYTES = DEFAULT_COLLECTOR_LIMITS.snapshotMaxBytes;

type Mutation = (root: Json) => void;

/** `parent[key] = value` as an own property, also for `__proto__` (plain assignment sets the prototype). */
function put(parent: Record<string | number, Json>, key: string | number, value: Json): void {
  Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}

function set(path: Path, value: Json): Mutation {
  return (root) => {
    const parent = parentOf(root, path);
    const key = path.at(-1);
    if (parent && key !== undefined) put(parent, key, structuredClone(value));
  };
}

function remove(path: Path): Mutation {
  return (root) => {
    const parent = parentOf(root, path);
    const key = path.at(-1);
    if (parent && key !== undefined && !Array.isArray(parent)) delete parent[key];
  };
}

/** The key at `path` written a second time, before or after the original (JSON.parse keeps the last). */
function duplicateKey(path: Path, value: Json, first: boolean): Mutation {
  return (root) => {
    const parent = parentOf(root, path);
    const key = path.at(-1);
    if (!parent || typeof key !== "string" || Array.isArray(parent)) return;
    const entries = Object.entries(parent);
    for (const k of Object.keys(parent)) delete parent[k];
    if (first) put(parent, `${DUP}${key}`, structuredClone(value));
    for (const [k, v] of entries) put(parent, k, v);
    if (!first) put(parent, `${DUP}${key}`, structuredClone(value));
  };
}

/** The mutations of a message of `kind`: any field replaced, removed or doubled, and the targeted ones. */
function mutation(target: CollectorFuzzTarget, sample: Json, kind: Kind): fc.Arbitrary<Mutation> {
  const paths = pathsOf(sample);
  const anyPath = fc.constantFrom(...paths);
  // Same-type replacements mostly keep the event valid, so they reach the read model and the reads.
  const valueAt = (path: Path) => parentOf(sample, path)?.[path.at(-1) ?? ""];
  const stringPaths = paths.filter((path) => typeof valueAt(path) === "string");
  const numberPaths = paths.filter((path) => typeof valueAt(path) === "number");
  const otherTypes = [...Object.values(EVENT_TYPES), "io.kasmap.cluster.snapshot.v2", "io.kasmap.x.v1"];
  const subjects = target.topology.subjects;
  const targeted: fc.Arbitrary<Mutation>[] = [
    fc.constant(set(["data", "agent_id"], target.other)),
    fc.constantFrom(...otherTypes).map((type) => set(["type"], type)),
    fc.constantFrom<Json>("0.3", "1.1", 1, null, "").map((v) => set(["specversion"], v)),
    fc.oneof(fc.string(), fc.constant("/kasmap/collector/other-cluster")).map((v) => set(["source"], v)),
    fc
      .constantFrom(subjects.clusterSnapshot(target.other), subjects.clusterHeartbeat(target.other), "")
      .map((v) => set(["subject"], v)),
  ];
  if (kind === "snapshot") {
    const cluster = ["data", "cluster"];
    targeted.push(
      hugeNodeList.map((list) => set([...cluster, "node_ips", "internal"], list)),
      fc
        .integer({ min: SNAPSHOT_MAX_BYTES - 2_000, max: SNAPSHOT_MAX_BYTES + 2_000 })
        .map((n) => set([...cluster, "cluster_name"], "n".repeat(n))),
      fc
        .constantFrom<Json>(["1.2.3.4/33"], ["::/0", "0.0.0.0/0"], ["999.1.1.1"], ["::ffff:10.0.0.0/104"])
        .chain((v) => fc.constantFrom(...["pod_cidrs", "service_cidrs"]).map((f) => set([...cluster, f], v))),
      fc
        .constantFrom<Json>("999.1.1.1", "::ffff:10.0.0.1", "0.0.0.0", "::", "10.0.0.1\u0000")
        .map((v) => set([...cluster, "api_endpoint_ip"], v)),
      fc
        .constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty")
        .map((key) => set([...cluster, "sources", key], { kind: "observed", source: "x" })),
    );
  }
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.tuple(fc.constantFrom(...stringPaths), hostileString).map(([p, v]) => set(p, v)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...numberPaths), hostileNumber).map(([p, v]) => set(p, v)),
    },
    { weight: 6, arbitrary: fc.tuple(anyPath, hostileValue(target)).map(([p, v]) => set(p, v)) },
    { weight: 1, arbitrary: anyPath.map(remove) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(anyPath, hostileValue(target), fc.boolean())
        .map(([p, v, first]) => duplicateKey(p, v, first)),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom<Path>(["data", "agent_id"], ["type"], ["subject"])
        .chain((p) =>
          fc.boolean().map((first) => duplicateKey(p, p[1] === "agent_id" ? target.other : "x", first)),
        ),
    },
    { weight: 4, arbitrary: fc.oneof(...targeted) },
  );
}

/** The serialised text: markers resolved, optionally pretty or with a byte-order mark. */
function serialise(root: Json, style: "plain" | "pretty" | "bom"): string {
  const text = JSON.stringify(root, null, style === "pretty" ? 2 : undefined)
    .replaceAll(`"${DUP}`, '"')
    .replace(new RegExp(`"${NUM}([^"]*)"`, "g"), "$1");
  return style === "bom" ? `\ufeff${text}` : text;
}

const encoder = new TextEncoder();

function baseEvent(target: CollectorFuzzTarget, kind: Kind, collectorId: string, name: string): Json {
  const { topology, attacker } = target;
  const event =
    kind === "snapshot"
      ? honestSnapshot(topology, attacker, fuzzFacts(name))
      : honestHeartbeat(topology, attacker, collectorId, new Date(), kind === "legacy-heartbeat");
  return JSON.parse(JSON.stringify(event)) as Json;
}

/** The attacker's subjects: its snapshot, its legacy heartbeat, one collector's heartbeat. */
function subjectOf(target: CollectorFuzzTarget, kind: Kind, collectorId: string): string {
  const s = target.topology.subjects;
  if (kind === "snapshot") return s.clusterSnapshot(target.attacker);
  if (kind === "legacy-heartbeat") return s.clusterHeartbeat(target.attacker);
  return s.clusterCollectorHeartbeat(target.attacker, collectorId);
}

const KINDS: readonly Kind[] = ["snapshot", "heartbeat", "legacy-heartbeat"];

function structuredMessage(target: CollectorFuzzTarget): fc.Arbitrary<AttackerMessage> {
  const collectorId = fc.oneof(
    fc.constantFrom("agentk-0", "agentk-1", "honest-a"),
    fc.string({ minLength: 1 }),
  );
  const samples = new Map(KINDS.map((kind) => [kind, baseEvent(target, kind, "sample", "sample")] as const));
  return fc
    .constantFrom(...KINDS)
    .chain((kind) =>
      fc.record({
        kind: fc.constant(kind),
        collectorId,
        name: fc.string({ maxLength: 12 }),
        mutations: fc.array(mutation(target, samples.get(kind) ?? null, kind), { maxLength: 3 }),
        style: fc.constantFrom("plain", "plain", "plain", "pretty", "bom") as fc.Arbitrary<
          "plain" | "pretty" | "bom"
        >,
        // Mostly the subject the message was made for; sometimes another of the attacker's.
        subjectKind: fc.oneof(
          { weight: 8, arbitrary: fc.constant(kind) },
          { weight: 1, arbitrary: fc.constantFrom(...KINDS) },
        ),
      }),
    )
    .map(({ kind, collectorId: collector, name, mutations, style, subjectKind }) => {
      const root = baseEvent(target, kind, collector, name);
      for (const mutate of mutations) mutate(root);
      const text = serialise(root, style);
      const id = (root as { id?: unknown }).id;
      return attackerMessage({
        subject: subjectOf(target, subjectKind, collector),
        body: encoder.encode(text),
        ...(typeof id === "string" && /^[\x21-\x7e]{1,128}$/.test(id) ? { msgID: id } : {}),
        label: `${kind}→${subjectKind} ${style} ${mutations.length} mutation(s): ${text.slice(0, 400)}${
          text.length > 400 ? `… (${text.length} chars)` : ""
        }`,
      });
    });
}

function rawMessage(target: CollectorFuzzTarget): fc.Arbitrary<AttackerMessage> {
  const valid = (kind: Kind) => JSON.stringify(baseEvent(target, kind, "agentk-0", "raw"));
  const body: fc.Arbitrary<{ bytes: Uint8Array; what: string }> = fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ bytes, what: "random bytes" })),
    fc.constant({ bytes: new Uint8Array(0), what: "empty body" }),
    fc.tuple(fc.constantFrom(...KINDS), fc.double({ min: 0, max: 1, noNaN: true })).map(([kind, at]) => {
      const text = valid(kind);
      return {
        bytes: encoder.encode(text.slice(0, Math.floor(text.length * at))),
        what: `truncated ${kind}`,
      };
    }),
    fc
      .constantFrom(...KINDS)
      .map((kind) => ({ bytes: encoder.encode(`\ufeff${valid(kind)}`), what: `BOM ${kind}` })),
    fc.constantFrom(...KINDS).map((kind) => {
      // Invalid UTF-8 (a lone continuation byte, an overlong NUL) at the start of the `source` string.
      const text = valid(kind);
      const at = text.indexOf('"source":"') + '"source":"'.length;
      const bytes = Buffer.concat([
        encoder.encode(text.slice(0, at)),
        Buffer.from([0x80, 0xc0, 0x80]),
        encoder.encode(text.slice(at)),
      ]);
      return { bytes: new Uint8Array(bytes), what: `invalid UTF-8 ${kind}` };
    }),
    fc
      .jsonValue({ maxDepth: 2 })
      .map((v) => ({ bytes: encoder.encode(JSON.stringify(v)), what: "other JSON" })),
  );
  return fc
    .tuple(body, fc.constantFrom(...KINDS), fc.constantFrom("agentk-0", "x"))
    .map(([b, kind, collector]) =>
      attackerMessage({
        subject: subjectOf(target, kind, collector),
        body: b.bytes,
        label: `raw ${b.what} (${b.bytes.byteLength} bytes) on ${kind}: ${JSON.stringify(Buffer.from(b.bytes.subarray(0, 200)).toString("latin1"))}`,
      }),
    );
}

/** One batch of the attacker's messages, mostly mutated valid events. */
export function attackerBatch(
  target: CollectorFuzzTarget,
  size: { minLength: number; maxLength: number },
): fc.Arbitrary<AttackerMessage[]> {
  const message = fc.oneof(
    { weight: 3, arbitrary: structuredMessage(target) },
    { weight: 1, arbitrary: rawMessage(target) },
  );
  return fc.array(message, size);
}
