import type { StreamRole, Topology } from "@kasmap/contracts";
import type { SubjectPermissions } from "../render-authorization.ts";
import { EVENT_TYPE_LIST, forgeriesOn } from "./forged-events.ts";
import { CREDENTIAL_KINDS, type CredentialKind, FORGERY_AGENT } from "./forgery-world.ts";
import { type PublishTarget, publishTargets, refusedStreamSubjects } from "./publish-targets.ts";

/**
 * Test-only: how many publishes infra/nats/credential-forgery.int.test.ts makes per credential
 * kind, computed from the same permissions and the same forgery lists the test uses, so the
 * figures docs/security-model.md quotes are generated, never counted by hand (issue 12:
 * they went stale when the alert types were added). `forgery-counts.unit.test.ts` checks the
 * document; `npx tsx infra/nats/testing/write-forgery-counts.ts` rewrites its block.
 */

/** The streams the projection applies; the alerts stream is what it publishes, never reads. */
export const EVENT_STREAMS: readonly StreamRole[] = ["cluster", "heartbeat", "authz", "registry"];

export const onEventStream = (t: PublishTarget): t is PublishTarget & { stream: StreamRole } =>
  t.stream !== null && EVENT_STREAMS.includes(t.stream);

export type ForgeryCounts = {
  /** Concrete event-stream subjects the kind may publish on. */
  eventSubjects: number;
  /** Forged events published on them, each to be dead-lettered. */
  forgeries: number;
  /** Correctly typed control events on its bound subjects, each to be applied. */
  controls: number;
  /** Every event type on every stream subject it may not publish (its agent and another). */
  refused: number;
  /** Every event type on every subject it may publish outside the event streams. */
  outside: number;
};

export function forgeryCounts(topology: Topology, permissions: SubjectPermissions): ForgeryCounts {
  const targets = publishTargets(topology, permissions, FORGERY_AGENT);
  const onEvents = targets.filter(onEventStream);
  const refusedSubjects = refusedStreamSubjects(topology, permissions, [FORGERY_AGENT, FORGERY_AGENT + 1]);
  return {
    eventSubjects: onEvents.length,
    forgeries: onEvents.reduce((sum, target) => sum + forgeriesOn(topology, target).length, 0),
    controls: onEvents.filter((t) => t.boundType !== null).length,
    refused: refusedSubjects.length * EVENT_TYPE_LIST.length,
    outside: targets.filter((t) => !onEventStream(t)).length * EVENT_TYPE_LIST.length,
  };
}

export const FORGERY_COUNTS_START =
  "<!-- forgery-counts:start (generated: infra/nats/testing/forgery-counts.ts) -->";
export const FORGERY_COUNTS_END = "<!-- forgery-counts:end -->";

/** The Markdown table docs/security-model.md holds between the markers. */
export function renderForgeryCounts(counts: Record<CredentialKind, ForgeryCounts>): string {
  const n = (value: number) => value.toLocaleString("en-US");
  return [
    "| credential | event subjects it may publish | forgeries on them (dead-lettered) | control events (applied) | refused publishes | publishes outside the event streams |",
    "|---|---:|---:|---:|---:|---:|",
    ...CREDENTIAL_KINDS.map((kind) => {
      const c = counts[kind];
      return `| ${kind} | ${n(c.eventSubjects)} | ${n(c.forgeries)} | ${n(c.controls)} | ${n(c.refused)} | ${n(c.outside)} |`;
    }),
  ].join("\n");
}

/** The block between the markers in `document`, or null when a marker is missing. */
export function forgeryCountsBlock(document: string): string | null {
  const start = document.indexOf(FORGERY_COUNTS_START);
  const end = document.indexOf(FORGERY_COUNTS_END);
  if (start < 0 || end < start) return null;
  return document.slice(start + FORGERY_COUNTS_START.length, end).trim();
}

/** The counts of every credential kind, with fresh nkeys (the counts do not depend on them). */
export function allForgeryCounts(
  topology: Topology,
  permissionsOf: (kind: CredentialKind) => SubjectPermissions,
): Record<CredentialKind, ForgeryCounts> {
  return Object.fromEntries(
    CREDENTIAL_KINDS.map((kind) => [kind, forgeryCounts(topology, permissionsOf(kind))]),
  ) as Record<CredentialKind, ForgeryCounts>;
}
