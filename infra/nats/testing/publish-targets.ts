import {
  AUTHZ_COMMANDS,
  boundSubject,
  boundSubjectId,
  EVENT_BINDINGS,
  type EventType,
  type StreamRole,
  type Topology,
} from "@kasmap/contracts";
import type { SubjectPermissions } from "../render-authorization.ts";

/**
 * Test-only: the concrete subjects an identity may publish, derived from its permissions (the
 * ones `renderAuthorization` writes into the server config), for the forgery tests (issue 7.1).
 * A permission is a pattern; the candidates are every event type's bound subject, variants of
 * each that no type is bound to, and each permitted pattern instantiated with event-shaped
 * tails. Those the permissions allow become rows, so adding a permission adds rows.
 */
export type PublishTarget = {
  subject: string;
  /** The stream that stores a message published there, or null (core NATS: commands, notices). */
  stream: StreamRole | null;
  /** The one event type bound to this subject, or null for a subject no type is bound to. */
  boundType: EventType | null;
};

const EVENT_TYPE_LIST = Object.keys(EVENT_BINDINGS) as EventType[];

/** NATS subject matching: `*` is one token, `>` one or more trailing tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split(".");
  const have = subject.split(".");
  for (const [i, token] of want.entries()) {
    if (token === ">") return have.length > i;
    if (i >= have.length || (token !== "*" && token !== have[i])) return false;
  }
  return want.length === have.length;
}

/** True when `permissions` lets its holder publish on `subject`. */
export function mayPublish(permissions: SubjectPermissions, subject: string): boolean {
  return (
    permissions.publish.some((p) => subjectMatches(p, subject)) &&
    !(permissions.publishDeny ?? []).some((p) => subjectMatches(p, subject))
  );
}

/** The stream whose subject filter takes `subject`, if any. */
export function storingStream(topology: Topology, subject: string): StreamRole | null {
  return topology.streams.find((s) => s.subjects.some((f) => subjectMatches(f, subject)))?.role ?? null;
}

/**
 * Subjects next to `bound` that no event type is bound to: a token too many or too few, an id
 * that is not canonical (`042`, `x`), and each fixed token after the root replaced.
 */
function wrongSubjectVariants(root: string, bound: string): string[] {
  const tokens = bound.split(".");
  const variants = [`${bound}.extra`, tokens.slice(0, -1).join(".")];
  for (let i = 1; i < tokens.length; i++) {
    const token = tokens[i] ?? "";
    const replacements = /^[0-9]+$/.test(token) ? [`0${token}`, "x"] : ["bogus"];
    for (const r of replacements) variants.push(tokens.map((t, j) => (j === i ? r : t)).join("."));
  }
  return variants.filter((s) => s.startsWith(`${root}.`));
}

/** Each permitted pattern with its wildcards filled: `*` by the id, `>` by event-shaped tails. */
function instantiatedPatterns(topology: Topology, patterns: readonly string[], id: number): string[] {
  const tails = [
    ...EVENT_TYPE_LIST.map((t) => boundSubject(topology.root, t, id).slice(topology.root.length + 1)),
    ...Object.values(topology.streamNames),
    ...Object.keys(AUTHZ_COMMANDS),
  ];
  return patterns.flatMap((pattern) => {
    const filled = pattern.replaceAll("*", String(id));
    return filled.endsWith(">") ? tails.map((tail) => filled.replace(/>$/, tail)) : [filled];
  });
}

/**
 * Every candidate subject around the ids: bound subjects, their wrong variants, the dead-letter
 * subjects, and the permitted patterns instantiated.
 */
export function candidateSubjects(
  topology: Topology,
  permissions: SubjectPermissions,
  ids: readonly number[],
): string[] {
  const bound = ids.flatMap((id) => EVENT_TYPE_LIST.map((t) => boundSubject(topology.root, t, id)));
  return [
    ...new Set([
      ...bound,
      ...bound.flatMap((s) => wrongSubjectVariants(topology.root, s)),
      ...Object.values(topology.streamNames).map((name) => topology.subjects.deadLetter(name)),
      ...ids.flatMap((id) => instantiatedPatterns(topology, permissions.publish, id)),
    ]),
  ];
}

function target(topology: Topology, subject: string): PublishTarget {
  const boundTypes = EVENT_TYPE_LIST.filter((t) => boundSubjectId(topology.root, t, subject).ok);
  if (boundTypes.length > 1) throw new Error(`${subject} is bound to ${boundTypes.join(" and ")}`);
  return { subject, stream: storingStream(topology, subject), boundType: boundTypes[0] ?? null };
}

/**
 * The candidates around `id` that `permissions` allow, with where each lands. JetStream API
 * subjects are left out: they are requests to the server, not messages a stream stores.
 */
export function publishTargets(
  topology: Topology,
  permissions: SubjectPermissions,
  id: number,
): PublishTarget[] {
  return candidateSubjects(topology, permissions, [id])
    .filter((subject) => !subject.startsWith("$JS.") && mayPublish(permissions, subject))
    .map((subject) => target(topology, subject));
}

/** The candidates around the ids that would land in a stream but that `permissions` refuse. */
export function refusedStreamSubjects(
  topology: Topology,
  permissions: SubjectPermissions,
  ids: readonly number[],
): string[] {
  return candidateSubjects(topology, permissions, ids).filter(
    (subject) => storingStream(topology, subject) !== null && !mayPublish(permissions, subject),
  );
}
