import type { Bus } from "@kasmap/bus";
import { type ReadModelNotice, ReadModelNoticeSchema } from "@kasmap/contracts";

// Which notices an event makes lives in @kasmap/contracts: the gateway derives the same ones
// for its own writes (dropping only what they touched before the notices arrive).
export { changedTablesOf, changeNoticesFor } from "@kasmap/contracts";

const encoder = new TextEncoder();

/**
 * Publishes notices on core NATS, `<root>.readmodel.changed.<table>`, after the commit. Core
 * NATS is fire-and-forget: a lost notice only delays a cache drop (readers that must see a
 * write wait for the position instead), so failures here never undo or retry the commit.
 */
export function publishChangeNotices(bus: Bus, notices: readonly ReadModelNotice[]): void {
  for (const notice of notices) {
    const body = ReadModelNoticeSchema.parse(notice);
    bus.nc.publish(bus.topology.subjects.readModelChanged(body.table), encoder.encode(JSON.stringify(body)));
  }
}

/**
 * One notice per table and ids within a batch, the last one (highest sequence) kept: a reader
 * drops the same cache entries whichever of them it receives. The key is every field of the
 * notice but its position (`ReadModelNoticeSchema`: the table and four optional ids), written
 * out rather than built from the object's entries: a batch of heartbeats has a notice each.
 */
export function dedupeChangeNotices(notices: readonly ReadModelNotice[]): ReadModelNotice[] {
  const latest = new Map<string, ReadModelNotice>();
  for (const notice of notices) {
    const id = `${notice.table}:${notice.agent_id ?? ""}:${notice.project_id ?? ""}:${notice.group_id ?? ""}:${notice.user_id ?? ""}`;
    // Map.set on a known key keeps the key's place: the order of first appearance holds.
    latest.set(id, notice);
  }
  return [...latest.values()];
}
