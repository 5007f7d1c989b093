import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import { createProgramRegistry } from "@kasmap/runtime/metrics";
import { eventually } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 7.11: readiness reports how far the projection lags behind each stream and how many
 * events wait in authz's outbox — read from NATS (stream info) and asked of authz over its own
 * command, never from another service's private tables.
 */
const ADMIN = "glpat-readiness-admin-0123456789";
// One metrics registry for every service, as `npm start` has: the gateway's /metrics shows the
// projection's alert outbox gauges.
const system = kasmapSystemForFile({ adminToken: ADMIN, metrics: createProgramRegistry() });

type Readiness = {
  status: string;
  projection_check?: Array<{ status: string; lag: Record<string, number> }>;
  outbox_check?: Array<{ status: string; pending: number }>;
  alert_outbox_check?: Array<{ status: string; pending: number; set_aside: number }>;
};

describe("GET /-/readiness", () => {
  it("reports the projection's lag per stream and authz's outbox backlog", async () => {
    const created = await system.call("POST", "/api/v4/groups", ADMIN, { name: "Ready", path: "ready" });
    expect(created.status).toBe(201);
    const response = await system.call("GET", "/-/readiness", ADMIN);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Readiness;
    expect(body.status).toBe("ok");
    const [projection] = body.projection_check ?? [];
    expect(projection?.status).toBe("ok");
    // The write was applied before it answered (read-your-writes), so nothing lags on its stream.
    expect(Object.values(projection?.lag ?? { missing: -1 }).every((lag) => lag >= 0)).toBe(true);
    expect(Object.keys(projection?.lag ?? {})).toContain("registry");
    expect(projection?.lag.registry).toBe(0);
    expect(body.outbox_check).toEqual([{ status: "ok", pending: 0, set_aside: 0 }]);
    expect(body.alert_outbox_check).toEqual([{ status: "ok", pending: 0, set_aside: 0 }]);
  });

  it("reports the projection's alert outbox: an alert set aside shows in readiness and metrics", async () => {
    const db = createDatabase<ReadModelDatabase>({ url: system.databaseUrl, max: 1 });
    try {
      await db
        .insertInto("read_model.alert_outbox")
        .values({
          event_id: "readiness-set-aside",
          agent_id: 1,
          event: JSON.stringify({ not: "publishable" }),
          set_aside_at: new Date(),
          set_aside_reason: "test: never publishable",
        })
        .execute();
    } finally {
      await db.destroy();
    }
    // Readings are kept for PIPELINE_STATUS_TTL_MS: wait for a fresh one.
    const check = await eventually(async () => {
      const body = (await (await system.call("GET", "/-/readiness", ADMIN)).json()) as Readiness;
      const [alerts] = body.alert_outbox_check ?? [];
      return alerts?.set_aside === 1 ? alerts : undefined;
    }, "the set-aside alert in readiness");
    expect(check).toEqual({ status: "ok", pending: 0, set_aside: 1 });
    const metrics = await (await system.call("GET", "/metrics", ADMIN)).text();
    expect(metrics).toContain("kasmap_projection_alert_outbox_set_aside_rows 1");
    expect(metrics).toContain("kasmap_authz_outbox_pending_rows 0");
  });
});
