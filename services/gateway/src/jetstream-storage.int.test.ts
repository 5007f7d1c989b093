import { connectBus, ensureStreams, publishEvent } from "@kasmap/bus";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { createTestDatabase, createTestTopology, testNatsUrl } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import { startGateway } from "./index.ts";

/**
 * Issue 7.6: JetStream storage use is a metric, and readiness warns (without failing) once it
 * passes the configured threshold, so a collector flooding the audit streams is noticed before
 * the disk is full.
 */
describe("JetStream storage", () => {
  it("is reported in /metrics per stream and warned about in readiness past the threshold", async () => {
    const database = await createTestDatabase();
    const topology = createTestTopology();
    const bus = await connectBus({ url: testNatsUrl(), name: "jetstream-storage-test", topology });
    await ensureStreams(bus);
    await publishEvent(
      bus,
      newKasmapEvent({
        type: EVENT_TYPES.clusterHeartbeat,
        source: "/test",
        subject: topology.subjects.clusterHeartbeat(1),
        data: { agent_id: 1, collector_id: "c", content_hash: null, sent_at: new Date().toISOString() },
      }),
    );
    const gateway = await startGateway({
      bus,
      databaseUrl: database.url,
      logger: createLogger("gateway", "silent"),
      jetStreamStorageWarning: { ratio: 0.8, bytes: 1 },
    });
    try {
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      const line = metrics
        .split("\n")
        .find((l) =>
          l.startsWith(`kasmap_jetstream_stream_bytes{stream="${topology.streamNames.heartbeat}"}`),
        );
      expect(Number(line?.split(" ").at(-1))).toBeGreaterThan(0);
      expect(metrics).toMatch(/^kasmap_jetstream_account_storage_bytes \d+$/m);

      const readiness = await fetch(`${gateway.url}/-/readiness`);
      expect(readiness.status).toBe(200);
      expect(await readiness.json()).toMatchObject({
        status: "ok",
        jetstream_check: [{ status: "warning", message: expect.stringMatching(/JetStream storage/) }],
      });
    } finally {
      await gateway.stop();
      for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
      await bus.close();
      await database.drop();
    }
  });
});
