import { publishEvent } from "@kasmap/bus";
import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { type MetricsServer, Registry, startMetricsServer } from "@kasmap/runtime/metrics";
import { buildClusterFacts } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { sampleValue } from "@kasmap/testing/prometheus-text";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProjectionService, startProjectionService } from "./projection-service.ts";
import { projectionContextForFile } from "./testing/projection-context.ts";

const ctx = projectionContextForFile("projection-metrics-int-test");
const registry = new Registry();
let service: ProjectionService;
let server: MetricsServer;

beforeAll(async () => {
  service = await startProjectionService({ ...ctx.serviceOptions, metrics: registry });
  server = await startMetricsServer(registry, {
    port: 0,
    host: "127.0.0.1",
    logger: createLogger("projection-metrics", "silent"),
  });
});

afterAll(async () => {
  await server?.stop();
  await service?.stop();
});

/** One sample of the projection's /metrics, scraped over HTTP. */
async function scraped(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return sampleValue(await response.text(), name, labels);
}

/** Waits until the sample reads `expected` (the counters move just after the commit). */
function scrapedUntil(name: string, labels: Record<string, string>, expected: number): Promise<true> {
  return eventually(
    async () => ((await scraped(name, labels)) === expected ? true : undefined),
    `${name}${JSON.stringify(labels)} = ${expected}`,
  );
}

describe("the projection's /metrics", () => {
  it("counts a snapshot applied, and its lag returns to 0", async () => {
    await publishEvent(ctx.bus, ctx.events.agent(7, 11));
    await publishEvent(ctx.bus, ctx.events.agentToken(70, 7));
    await ctx.caughtUp();
    const cluster = { consumer: "projection-cluster" };
    const before = await scraped("kasmap_projection_events_applied_total", cluster);
    expect(before).toBe(0);
    await publishEvent(ctx.bus, ctx.events.snapshot(7, buildClusterFacts()));
    await ctx.caughtUp();
    await scrapedUntil("kasmap_projection_events_applied_total", cluster, 1);
    await scrapedUntil("kasmap_projection_lag_messages", { ...cluster, partition: "all" }, 0);
    expect(await scraped("kasmap_projection_events_applied_total", { consumer: "projection-registry" })).toBe(
      2,
    );
  });

  it("counts a malformed event it dead-letters", async () => {
    const labels = { service: "projection", consumer: "projection-registry" };
    const before = (await scraped("kasmap_dead_letters_total", labels)) ?? 0;
    const malformed = new TextEncoder().encode(JSON.stringify({ specversion: "1.0", type: "nonsense" }));
    await ctx.bus.js.publish(ctx.topology.subjects.registryChanged("user", 1), malformed);
    await ctx.caughtUp();
    await scrapedUntil("kasmap_dead_letters_total", labels, before + 1);
  });

  it("reads the alert outbox and the agents' connections from PostgreSQL", async () => {
    expect(await scraped("kasmap_projection_alert_outbox_pending_rows", {})).toBe(0);
    expect(await scraped("kasmap_projection_agents_connected", {})).toBeGreaterThanOrEqual(0);
    expect(await scraped("kasmap_nats_connected", { service: "projection" })).toBe(1);
  });

  it("counts an agent silent for 3 minutes as disconnected only once the sweep confirmed the silence", async () => {
    const agents = { live: 20, confirmed: 21, unconfirmed: 22 };
    for (const id of Object.values(agents)) await publishEvent(ctx.bus, ctx.events.agent(id, 11));
    await ctx.caughtUp();
    const stale = new Date(Date.now() - CONNECTED_WITHIN_MS - 60_000);
    // As the projection writes them: `disconnected_reported_at` is the sweep's mark of a silence
    // with no newer heartbeat waiting unread (the gateway's `disconnected`); without it the
    // gateway says `unknown`, and the gauges count it in neither.
    await ctx.db
      .insertInto("read_model.agent_connections")
      .values([
        { agent_id: agents.live, collector_id: "c", last_heartbeat_at: new Date().toISOString() },
        {
          agent_id: agents.confirmed,
          collector_id: "c",
          last_heartbeat_at: stale.toISOString(),
          disconnected_reported_at: new Date(),
        },
        { agent_id: agents.unconfirmed, collector_id: "c", last_heartbeat_at: stale.toISOString() },
      ])
      .execute();

    // Read at most once a second: the next readings count the rows.
    await scrapedUntil("kasmap_projection_agents_connected", {}, 1);
    expect(await scraped("kasmap_projection_agents_disconnected", {})).toBe(1);
  });
});
