import { createLogger } from "@kasmap/logging";
import { describe, expect, it } from "vitest";
import { Counter, Registry } from "./metrics-registry.ts";
import { startMetricsServer } from "./metrics-server.ts";

describe("startMetricsServer", () => {
  it("serves the registry at GET /metrics only", async () => {
    const registry = new Registry();
    new Counter({ name: "kasmap_test_total", help: "test", registers: [registry] }).inc(2);
    const server = await startMetricsServer(registry, {
      port: 0,
      host: "127.0.0.1",
      logger: createLogger("test", "silent"),
    });
    try {
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toContain("text/plain");
      expect(await metrics.text()).toMatch(/^kasmap_test_total 2$/m);
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`, { method: "POST" })).status).toBe(405);
    } finally {
      await server.stop();
    }
  });
});
