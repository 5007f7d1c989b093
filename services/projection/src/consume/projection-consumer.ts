import {
  type Bus,
  type CheckpointedConsumer,
  type CheckpointedEvent,
  type MessageMeta,
  startCheckpointedConsumer,
} from "@kasmap/bus";
import { EVENT_TYPES, type KasmapEvent, type ReadModelNotice, type Topology } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Logger } from "@kasmap/logging";
import type { Kysely } from "kysely";
import { queueAlerts } from "../alerts/alert-outbox.ts";
import { applyEventToReadModel } from "../apply/apply-event.ts";
import {
  type EntityRow,
  type EntityTable,
  entityUpsertOf,
  upsertEntityRows,
} from "../apply/apply-registry-event.ts";
import { loadAuditPreviousState, lockAgentAuditLogs, recordAuditEvents } from "../audit/audit-event-store.ts";
import { auditEventsFor } from "../audit/audit-events.ts";
import { changeNoticesFor, dedupeChangeNotices, publishChangeNotices } from "../notify/change-notices.ts";
import type { CollectorLimits } from "../projection-env.ts";
import type { ProjectionMetrics } from "../projection-metrics.ts";
import { collectorDeadLetterBudget } from "./collector-dead-letters.ts";
import {
  assertCollectorsMayWrite,
  createCollectorPreScreen,
  createCollectorScreen,
} from "./collector-screen.ts";
import { clampCollectorTimes } from "./collector-times.ts";
import { classifyDatabaseError } from "./permanent-database-error.ts";
import { projectHeartbeatBatch, type StoredHeartbeat } from "./project-heartbeat-batch.ts";
import { projectSnapshotBatch, type StoredSnapshot } from "./project-snapshot-batch.ts";
import { consumerCheckpoint, type ProjectionCheckpoint } from "./projection-positions.ts";
import { UnknownAgentGrace } from "./unknown-agent-grace.ts";

/**
 * The projection's consumers, one per stream role. `durable` names the consumer's row in
 * `read_model.projection_positions` (its checkpoint) and its dead letters; it is also the name
 * of the durable JetStream consumer that versions before checkpointed consumption used.
 */
export const PROJECTION_CONSUMERS = [
  { stream: "registry", durable: "projection-registry" },
  { stream: "authz", durable: "projection-authz" },
  { stream: "cluster", durable: "projection-cluster" },
  { stream: "heartbeat", durable: "projection-heartbeat" },
] as const;

/** The registry consumer: collector events of agents it has not applied yet wait for it. */
const REGISTRY_CONSUMER = "projection-registry";

/**
 * Applies a batch of one stream's events, in order, in ONE transaction that ends by storing
 * `lastSeq` as the consumer's position (the row named `consumer` of `projection_positions`, or
 * the `ProjectionCheckpoint` given, e.g. a partition's, whose lock also checks the lease), and returns the change notices to publish once it
 * committed. Collector events have their times clamped to when the server stored them and are
 * refused (`poison_event`) once their agent is deleted or its tokens revoked. Events at or below the stored position were applied before and are skipped (a
 * replay, or a second replica); `lastSeq` may lie past the last event (dead-lettered messages).
 * The alerts the audit events raise are queued in the same transaction (`queueAlerts`), under
 * `topology`'s subjects. A permanent database error becomes `KasmapError("poison_event")`.
 */
export async function projectBatch(
  db: Kysely<ReadModelDatabase>,
  topology: Topology,
  consumer: string | ProjectionCheckpoint,
  stream: string,
  batch: readonly CheckpointedEvent[],
  lastSeq: number,
): Promise<ReadModelNotice[]> {
  const checkpoint = typeof consumer === "string" ? consumerCheckpoint(db, consumer, stream) : consumer;
  try {
    return await db.transaction().execute(async (trx) => {
      const stored = await checkpoint.lock(trx);
      if (lastSeq <= stored) return [];
      const fresh = batch
        .filter(({ meta }) => meta.seq > stored)
        .map(({ event, meta }) => ({ event: clampCollectorTimes(event, meta.storedAt), meta }));
      // A deletion or revocation committed since the screen ran takes effect here (issue 7.6);
      // snapshots and heartbeats check it in the statement that reads their agents' state
      // (projectSnapshotBatch, projectHeartbeatBatch).
      await assertCollectorsMayWrite(
        trx,
        fresh.filter((item) => !isSnapshot(item) && !isHeartbeat(item)),
      );
      await lockAgentAuditLogs(
        trx,
        fresh.map(({ event }) => event),
      );
      const notices: ReadModelNotice[] = [];
      for (const run of runsOf(fresh)) {
        if (run.snapshots) {
          notices.push(...(await projectSnapshotBatch(trx, topology, stream, run.snapshots)));
          continue;
        }
        if (run.heartbeats) {
          notices.push(...(await projectHeartbeatBatch(trx, topology, stream, run.heartbeats)));
          continue;
        }
        if (run.entities) {
          await upsertEntityRows(
            trx,
            run.entities.table,
            run.entities.items.map((item) => item.row),
          );
          for (const { event, meta } of run.entities.items)
            notices.push(...changeNoticesFor(event, { stream, seq: meta.seq }));
          continue;
        }
        for (const { event, meta } of run.others) {
          const position = { stream, seq: meta.seq, storedAt: meta.storedAt };
          // The audit log compares with the state the event replaces, so it is read first.
          const previous = await loadAuditPreviousState(trx, event);
          await applyEventToReadModel(trx, event, position);
          const drafts = auditEventsFor(event, previous);
          await recordAuditEvents(trx, event, drafts, position);
          await queueAlerts(trx, topology, drafts);
          notices.push(...changeNoticesFor(event, position));
        }
      }
      await checkpoint.store(trx, lastSeq);
      return dedupeChangeNotices(notices);
    });
  } catch (error) {
    throw classifyDatabaseError(error);
  }
}

function isSnapshot(item: CheckpointedEvent): item is StoredSnapshot {
  return item.event.type === EVENT_TYPES.clusterSnapshot;
}

function isHeartbeat(item: CheckpointedEvent): item is StoredHeartbeat {
  return item.event.type === EVENT_TYPES.clusterHeartbeat;
}

/** Registry events of one `entityUpsertOf` key, with their rows. */
type EntityRun = {
  key: string;
  table: EntityTable;
  items: (CheckpointedEvent & { row: EntityRow })[];
};

type Run =
  | { snapshots: StoredSnapshot[]; heartbeats?: never; entities?: never; others?: never }
  | { snapshots?: never; heartbeats: StoredHeartbeat[]; entities?: never; others?: never }
  | { snapshots?: never; heartbeats?: never; entities: EntityRun; others?: never }
  | { snapshots?: never; heartbeats?: never; entities?: never; others: CheckpointedEvent[] };

/**
 * The batch cut into runs of consecutive snapshots, of consecutive heartbeats and of consecutive
 * registry upserts of one table (`entityUpsertOf`: a GitLab sync or a group move writes
 * thousands of projects), each applied set-based, and of other events, applied one by one;
 * stream order holds across runs.
 */
function runsOf(items: readonly CheckpointedEvent[]): Run[] {
  const runs: Run[] = [];
  for (const item of items) {
    const last = runs.at(-1);
    const upsert = entityUpsertOf(item.event);
    if (upsert) {
      if (last?.entities?.key === upsert.key) last.entities.items.push({ ...item, row: upsert.row });
      else
        runs.push({
          entities: { key: upsert.key, table: upsert.table, items: [{ ...item, row: upsert.row }] },
        });
    } else if (isSnapshot(item)) {
      if (last?.snapshots) last.snapshots.push(item);
      else runs.push({ snapshots: [item] });
    } else if (isHeartbeat(item)) {
      if (last?.heartbeats) last.heartbeats.push(item);
      else runs.push({ heartbeats: [item] });
    } else if (last?.others) last.others.push(item);
    else runs.push({ others: [item] });
  }
  return runs;
}

/** Applies one message with its position: `projectBatch` of one event. */
export function projectMessage(
  db: Kysely<ReadModelDatabase>,
  topology: Topology,
  consumer: string,
  event: KasmapEvent,
  meta: MessageMeta,
): Promise<ReadModelNotice[]> {
  return projectBatch(db, topology, consumer, meta.stream, [{ event, meta }], meta.seq);
}

/** What one projection consumer runs on: its stream, where it keeps its position, its share. */
export type ProjectionConsumerTarget = {
  declaration: (typeof PROJECTION_CONSUMERS)[number];
  /** @default the whole stream's position, `consumerCheckpoint(db, declaration.durable, …)` */
  checkpoint?: ProjectionCheckpoint;
  /** Whether a message (by subject) is this consumer's, for one partition. @default every message */
  owns?: (subject: string) => boolean;
  /** Names the consumer in logs (a partition's label). @default `declaration.durable` */
  label?: string;
};

/**
 * Starts one checkpointed consumer that projects its stream (or its partition of it) into the
 * read model in batches.
 */
export function startProjectionConsumer(
  bus: Bus,
  db: Kysely<ReadModelDatabase>,
  logger: Logger,
  target: ProjectionConsumerTarget,
  settings: {
    limits: CollectorLimits;
    metrics?: Pick<ProjectionMetrics, "applied">;
    /**
     * The replica's grace of unknown agents, shared by its consumers so that taking a partition
     * over again does not grant another. @default one of this consumer's own
     */
    unknownAgentGrace?: UnknownAgentGrace;
  },
): CheckpointedConsumer {
  const { declaration } = target;
  const { limits, metrics } = settings;
  const grace = settings.unknownAgentGrace ?? new UnknownAgentGrace({ graceMs: limits.unknownAgentGraceMs });
  const stream = bus.topology.streamNames[declaration.stream];
  const checkpoint = target.checkpoint ?? consumerCheckpoint(db, declaration.durable, stream);
  const label = target.label ?? declaration.durable;
  const fromCollectors = declaration.stream === "cluster" || declaration.stream === "heartbeat";
  return startCheckpointedConsumer(bus, {
    stream: declaration.stream,
    name: declaration.durable,
    ...(fromCollectors
      ? {
          preScreen: createCollectorPreScreen(declaration.stream, limits),
          screen: createCollectorScreen(bus, db, grace, REGISTRY_CONSUMER),
          deadLetterBudget: collectorDeadLetterBudget(
            limits.deadLettersPerMinute,
            limits.deadLetterHeadBytesPerMinute,
          ),
        }
      : {}),
    ...(target.owns ? { owns: target.owns } : {}),
    readCheckpoint: () => checkpoint.read(),
    async applyBatch(batch, lastSeq) {
      const notices = await projectBatch(db, bus.topology, checkpoint, stream, batch, lastSeq);
      if (batch.length > 0) metrics?.applied(declaration.durable, batch.length);
      publishChangeNotices(bus, notices);
    },
    onProblem({ kind, meta, reason }) {
      // Only positions and the reason: payloads stay out of logs (the dead letter keeps them).
      const fields = {
        consumer: label,
        stream: meta.stream,
        seq: meta.seq,
        subject: meta.subject,
      };
      if (kind === "dead-lettered") logger.error({ ...fields, reason }, "event dead-lettered");
      else logger.warn({ ...fields, reason }, "consumer restarting from its checkpoint");
    },
  });
}
