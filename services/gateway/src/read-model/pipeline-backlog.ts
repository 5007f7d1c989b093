import { requestCommand } from "@kasmap/bus";
import { appliedStreamPositions } from "@kasmap/db";
import { type OutboxStatus, outboxStatusOf } from "@kasmap/runtime/outbox";
import type { GatewayContext } from "../context.ts";
import { type MirrorCheck, mirrorStatus } from "./mirror-status.ts";

/** The streams the projection applies, by role (the names readiness reports). */
const PROJECTED_ROLES = ["registry", "authz", "cluster", "heartbeat"] as const;

export type ProjectionLagCheck =
  | { status: "ok"; lag: Record<(typeof PROJECTED_ROLES)[number], number> }
  | { status: "failed"; message: string };

export type OutboxCheck =
  | { status: "ok"; pending: number; oldest_pending_age_seconds?: number; set_aside: number }
  | { status: "failed"; message: string };

/**
 * How many messages each stream holds beyond what the projection has applied: the stream's
 * last sequence (NATS stream info) minus the position up to which the projection applied all of
 * it (`appliedStreamPositions`: partitioned streams count their slowest partition).
 */
export async function projectionLag(ctx: GatewayContext): Promise<ProjectionLagCheck> {
  try {
    const names = PROJECTED_ROLES.map((role) => ctx.bus.topology.streamNames[role]);
    const [infos, applied] = await Promise.all([
      Promise.all(names.map((name) => ctx.bus.jsm.streams.info(name))),
      appliedStreamPositions(ctx.db, names),
    ]);
    const lag = Object.fromEntries(
      PROJECTED_ROLES.map((role, i) => {
        const last = infos[i]?.state.last_seq ?? 0;
        return [role, Math.max(0, last - (applied.get(names[i] ?? "") ?? 0))];
      }),
    ) as Record<(typeof PROJECTED_ROLES)[number], number>;
    return { status: "ok", lag };
  } catch {
    return { status: "failed", message: "stream positions or projection checkpoints unreadable" };
  }
}

/** authz's outbox backlog, asked of authz (`outbox.status`); its tables stay its own. */
export async function outboxBacklog(ctx: GatewayContext, timeoutMs: number): Promise<OutboxCheck> {
  try {
    const { result } = await requestCommand(ctx.bus, "outbox.status", {}, timeoutMs);
    return outboxCheckOf(result);
  } catch {
    return { status: "failed", message: "authz did not report its outbox" };
  }
}

/**
 * The projection's alert outbox backlog (issue 11/12): alerts committed with their audit row but
 * not yet published to the alerts stream, and rows set aside. `read_model.alert_outbox` is part
 * of the read model, which the gateway reads (two partial-index counts, as authz's).
 */
export async function alertOutboxBacklog(ctx: GatewayContext): Promise<OutboxCheck> {
  try {
    return outboxCheckOf(await outboxStatusOf(ctx.db, { name: ALERT_OUTBOX_TABLE }));
  } catch {
    return { status: "failed", message: "the projection's alert outbox unreadable" };
  }
}

const ALERT_OUTBOX_TABLE = "read_model.alert_outbox";

function outboxCheckOf(status: OutboxStatus): OutboxCheck {
  return {
    status: "ok",
    pending: status.pending,
    set_aside: status.set_aside,
    ...(status.oldest_pending_age_seconds === null
      ? {}
      : { oldest_pending_age_seconds: status.oldest_pending_age_seconds }),
  };
}

/**
 * How long one reading of the lag and the outbox serves readiness probes and metric scrapes.
 * Both endpoints need no token, so without this every probe would cost four stream-info calls,
 * a checkpoint query and a request to authz (which counts its outbox): a flood of unauthenticated
 * probes would become load on authz's database.
 */
export const PIPELINE_STATUS_TTL_MS = 2_000;

type PipelineReading = {
  at: number;
  lag: Promise<ProjectionLagCheck>;
  outbox: Promise<OutboxCheck>;
  alertOutbox: Promise<OutboxCheck>;
  /** GitLab mode only: the sync service's status (one more request, under the same cache). */
  mirror: Promise<MirrorCheck> | null;
};
const readings = new WeakMap<GatewayContext, PipelineReading>();

/**
 * The projection lag, authz's outbox and the projection's alert outbox backlogs and (GitLab mode) the mirror's status, read at most
 * every `PIPELINE_STATUS_TTL_MS`.
 */
export function pipelineStatus(ctx: GatewayContext, timeoutMs: number): Omit<PipelineReading, "at"> {
  const cached = readings.get(ctx);
  if (cached && Date.now() - cached.at < PIPELINE_STATUS_TTL_MS) return cached;
  const reading = {
    at: Date.now(),
    lag: projectionLag(ctx),
    outbox: outboxBacklog(ctx, timeoutMs),
    alertOutbox: alertOutboxBacklog(ctx),
    mirror: ctx.gitlabMirror ? mirrorStatus(ctx, timeoutMs) : null,
  };
  readings.set(ctx, reading);
  return reading;
}
