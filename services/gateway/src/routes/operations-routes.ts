import { storageWarning } from "@kasmap/bus";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { GatewayContext } from "../context.ts";
import { PROBE_PATHS } from "../http/probe-paths.ts";
import { pipelineStatus } from "../read-model/pipeline-backlog.ts";

/**
 * `GET /-/health` (liveness: the process answers), `GET /-/readiness` (NATS connected and a
 * PostgreSQL round trip within 2 s; 503 otherwise, GitLab's `{"status": "failed"}` form; a NATS
 * server that accepts anonymous clients is named in `nats_check[0].message`; JetStream storage
 * past its threshold is a `jetstream_check` warning that does not fail readiness; also reported,
 * without gating: `projection_check[0].lag` — messages per stream not yet applied to the read
 * model — `outbox_check[0]` — events authz committed but has not published, and rows set
 * aside — and `alert_outbox_check[0]` — the same for the projection's alerts; in GitLab mode `mirror_check[0]` — `ok`, or `stale` when no reconcile with GitLab
 * completed within twice its period or GitLab is unreachable, with the age in seconds: reported,
 * not gating, since the gateway keeps serving the last mirror) and `GET /metrics` (Prometheus
 * text of the gateway's registry: its request metrics, `registerOperationsMetrics`' gauges, and
 * under `npm start` every in-process service's metrics). None needs a token, so lag, outbox and mirror are read at most every
 * `PIPELINE_STATUS_TTL_MS` whatever the number of probes.
 */
export function registerOperationsRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(PROBE_PATHS.liveness, async (_request, reply) =>
    reply.type("text/plain; charset=utf-8").send("Kasmap OK"),
  );

  app.get(PROBE_PATHS.readiness, async (_request, reply) => {
    const nats = ctx.natsConnected();
    const pipeline = pipelineStatus(ctx, CHECK_DEADLINE_MS);
    const [database, storage, projection, outbox, alertOutbox, mirror] = await Promise.all([
      pingDatabase(ctx),
      ctx.jetStreamStorage.read(),
      withDeadline(pipeline.lag, CHECK_DEADLINE_MS, unreadable("projection lag")),
      pipeline.outbox,
      withDeadline(pipeline.alertOutbox, CHECK_DEADLINE_MS, unreadable("alert outbox")),
      pipeline.mirror,
    ]);
    const storageNote = storage ? storageWarning(storage, ctx.jetStreamStorageWarning) : null;
    // Lag and backlog are reported, not gating: the gateway serves reads while they drain.
    const status = nats && database ? "ok" : "failed";
    return reply.code(status === "ok" ? 200 : 503).send({
      status,
      nats_check: [
        {
          status: nats ? "ok" : "failed",
          ...(ctx.natsWarnings.length > 0 ? { message: ctx.natsWarnings.join(" ") } : {}),
        },
      ],
      db_check: [{ status: database ? "ok" : "failed" }],
      // A warning, not a failure: the system works until the storage is full (issue 7.6).
      jetstream_check: [storageNote ? { status: "warning", message: storageNote } : { status: "ok" }],
      projection_check: [projection],
      outbox_check: [outbox],
      alert_outbox_check: [alertOutbox],
      ...(mirror ? { mirror_check: [mirror] } : {}),
    });
  });

  app.get("/metrics", async (_request, reply) =>
    reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.render()),
  );
}

/** Each readiness check answers within this, ms, or counts as failed. */
const CHECK_DEADLINE_MS = 2_000;

function unreadable(what: string) {
  return { status: "failed" as const, message: `${what} not read within ${CHECK_DEADLINE_MS} ms` };
}

async function withDeadline<T, F>(work: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function pingDatabase(ctx: GatewayContext): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 2_000);
  });
  const ping = sql`select 1`
    .execute(ctx.db)
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
