import { anonymousAccessWarning, connectBus } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import { createTestDatabase, createTestTopology, testNatsUrl } from "@kasmap/testing/harness";
import { describe, expect, it } from "vitest";
import { startGateway } from "./index.ts";

/**
 * A NATS server that accepts anonymous clients is named in readiness (issue 7, item 5): the
 * check stays "ok" — the system works — but whoever looks at readiness sees the note.
 */
describe("readiness with a NATS warning", () => {
  it("names the warning in nats_check without failing readiness", async () => {
    const database = await createTestDatabase();
    const bus = await connectBus({
      url: testNatsUrl(),
      name: "readiness-test",
      topology: createTestTopology(),
    });
    const warning = anonymousAccessWarning(testNatsUrl());
    const gateway = await startGateway({
      bus,
      databaseUrl: database.url,
      logger: createLogger("gateway", "silent"),
      natsWarnings: [warning],
    });
    try {
      const response = await fetch(`${gateway.url}/-/readiness`);
      expect(response.status).toBe(200);
      // Projection lag and outbox backlog are reported too (routes/readiness.int.test.ts).
      expect(await response.json()).toMatchObject({
        status: "ok",
        nats_check: [{ status: "ok", message: warning }],
        db_check: [{ status: "ok" }],
        jetstream_check: [{ status: "ok" }],
      });
    } finally {
      await gateway.stop();
      await bus.close();
      await database.drop();
    }
  });
});
