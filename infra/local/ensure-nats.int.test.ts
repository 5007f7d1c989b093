import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@kasmap/logging";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { ensureNats } from "./ensure-nats.ts";

/**
 * `npm start` with nothing listening starts `nats-server -js` from PATH, its store under the
 * state dir. Exercised on a free port so the machine's own NATS is left alone.
 */
const stateDir = mkdtempSync(join(tmpdir(), "kasmap-nats-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe("NATS fallback", () => {
  it("starts nats-server with JetStream when nothing answers, and stops it", async () => {
    const port = 30_000 + Math.floor(Math.random() * 10_000);
    const nats = await ensureNats(undefined, stateDir, createLogger("test", "silent"), port);
    expect(nats.url).toBe(`nats://127.0.0.1:${port}`);
    const nc = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(nc)).getAccountInfo();
    expect(info.limits).toBeDefined();
    await nc.close();
    await nats.stop();
  });

  it("refuses a configured NATS_URL that does not answer, naming it", async () => {
    await expect(ensureNats("nats://127.0.0.1:1", stateDir, createLogger("test", "silent"))).rejects.toThrow(
      /NATS_URL=nats:\/\/127.0.0.1:1 does not answer/,
    );
  });
});
