import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { GatewayContext } from "../context.ts";

/**
 * `GET /-/health` (liveness: the process answers), `GET /-/readiness` (NATS connected and a
 * PostgreSQL round trip within 2 s; 503 otherwise, GitLab's `{"status": "failed"}` form; a NATS
 * server that accepts anonymous clients is named in `nats_check[0].message`) and
 * `GET /metrics` (Prometheus text). None needs a token.
 */
export function registerOperationsRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get("/-/health", async (_request, reply) => reply.type("text/plain; charset=utf-8").send("Kasmap OK"));

  app.get("/-/readiness", async (_request, reply) => {
    const nats = ctx.natsConnected();
    const database = await pingDatabase(ctx);
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
    ].join("\n");
    return reply.type("text/plain; version=0.0.4; charset=utf-8").send(`${text}\n`);
  });
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
