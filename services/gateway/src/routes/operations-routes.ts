import { renderStorageMetrics, requestCommand, storageWarning } from "@kasmap/bus";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { GatewayContext } from "../context.ts";
import { outboxBacklog, projectionLag } from "../read-model/pipeline-backlog.ts";

const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

/**
 * `GET /-/health` (liveness: the process answers), `GET /-/readiness` (NATS connected and a
 * PostgreSQL round trip within 2 s; 503 otherwise, GitLab's `{"status": "failed"}` form; a NATS
 * server that accepts anonymous clients is named in `nats_check[0].message`; JetStream storage
 * past its threshold is a `jetstream_check` warning that does not fail readiness; also reported,
 * without gating: `projection_check[0].lag` — messages per stream not yet applied to the read
 * model — and `outbox_check[0]` — events authz committed but has not published, and rows set
 * aside) and `GET /metrics` (Prometheus text, with JetStream storage use, and authz's outbox
 * gauges when authz answers within 1 s). None needs a token.
 */
export function registerOperationsRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get("/-/health", async (_request, reply) => reply.type("text/plain; charset=utf-8").send("Kasmap OK"));

  app.get("/-/readiness", async (_request, reply) => {
    const nats = ctx.natsConnected();
    const [database, storage, projection, outbox] = await Promise.all([
      pingDatabase(ctx),
      ctx.jetStreamStorage.read(),
      withDeadline(projectionLag(ctx), CHECK_DEADLINE_MS, unreadable("projection lag")),
      outboxBacklog(ctx, CHECK_DEADLINE_MS),
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
    });
  });

  app.get("/metrics", async (_request, reply) => {
    const cacheLines = ctx.caches.all.flatMap((cache) => [
      `kasmap_gateway_cache_hits_total{cache="${cache.name}"} ${cache.hits}`,
      `kasmap_gateway_cache_misses_total{cache="${cache.name}"} ${cache.misses}`,
    ]);
    const text = [
      ctx.metrics.render().trimEnd(),
      "# HELP kasmap_gateway_cache_hits_total Reads answered from the in-process cache.",
      "# TYPE kasmap_gateway_cache_hits_total counter",
      ...cacheLines.filter((line) => line.includes("_hits_")),
      "# HELP kasmap_gateway_cache_misses_total Reads that went to PostgreSQL.",
      "# TYPE kasmap_gateway_cache_misses_total counter",
      ...cacheLines.filter((line) => line.includes("_misses_")),
      ...(await authzOutboxLines(ctx)),
    ].join("\n");
    const storage = await ctx.jetStreamStorage.read();
    if (storage) return reply.type(PROMETHEUS_TEXT).send(`${text}\n${renderStorageMetrics(storage)}`);
    return reply.type(PROMETHEUS_TEXT).send(`${text}\n`);
  });
}

/** How long one answer of authz's `outbox.status` serves scrapes: an open /metrics never fans out. */
const OUTBOX_GAUGES_TTL_MS = 5_000;
const outboxGauges = new WeakMap<GatewayContext, { at: number; lines: Promise<string[]> }>();

/**
 * `kasmap_authz_outbox_pending_rows` and `kasmap_authz_outbox_set_aside_rows` from authz's
 * `outbox.status`, asked at most every 5 s; none when authz does not answer within 1 s (their
 * absence is itself the signal).
 */
function authzOutboxLines(ctx: GatewayContext): Promise<string[]> {
  const cached = outboxGauges.get(ctx);
  if (cached && Date.now() - cached.at < OUTBOX_GAUGES_TTL_MS) return cached.lines;
  const lines = requestCommand(ctx.bus, "outbox.status", {}, 1_000).then(
    ({ result }) => [
      "# HELP kasmap_authz_outbox_pending_rows Authz events committed but not yet published to NATS.",
      "# TYPE kasmap_authz_outbox_pending_rows gauge",
      `kasmap_authz_outbox_pending_rows ${result.pending}`,
      "# HELP kasmap_authz_outbox_set_aside_rows Authz events that can never be published, set aside (authz logs each); above 0 needs an operator.",
      "# TYPE kasmap_authz_outbox_set_aside_rows gauge",
      `kasmap_authz_outbox_set_aside_rows ${result.set_aside}`,
    ],
    () => [],
  );
  outboxGauges.set(ctx, { at: Date.now(), lines });
  return lines;
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
