import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";

/**
 * Test files drop their own databases and streams, but a file that crashes or times out does
 * not. Every name a test creates is recorded in a file of this run (KASMAP_TEST_LEFTOVERS,
 * set by the global setup), and the global teardown removes whatever is still there — only
 * this run's names, so concurrent runs on the same servers are left alone.
 */
const ENV = "KASMAP_TEST_LEFTOVERS";

export function startLeftoverRegistry(): string {
  const dir = mkdtempSync(join(tmpdir(), "kasmap-test-leftovers-"));
  process.env[ENV] = join(dir, "names");
  return dir;
}

export function recordLeftover(kind: "database" | "topology", name: string): void {
  const file = process.env[ENV];
  if (file) appendFileSync(file, `${kind} ${name}\n`);
}

export async function removeLeftovers(natsUrl: string, databaseUrl: string, dir: string): Promise<void> {
  let lines: string[] = [];
  try {
    lines = readFileSync(join(dir, "names"), "utf8").split("\n").filter(Boolean);
  } catch {
    // Nothing recorded: no integration test ran.
  }
  const databases = lines.filter((l) => l.startsWith("database ")).map((l) => l.slice(9));
  const roots = lines.filter((l) => l.startsWith("topology ")).map((l) => `${l.slice(9).toUpperCase()}_`);
  if (roots.length > 0) await deleteStreams(natsUrl, roots);
  if (databases.length > 0) await dropDatabases(databaseUrl, databases);
  rmSync(dir, { recursive: true, force: true });
}

async function deleteStreams(natsUrl: string, prefixes: string[]): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const stream of jsm.streams.list()) {
      const name = stream.config.name;
      if (prefixes.some((p) => name.startsWith(p))) await jsm.streams.delete(name).catch(() => false);
    }
  } finally {
    await nc.close();
  }
}

async function dropDatabases(databaseUrl: string, names: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const name of names) {
      if (/^kasmap_test_[0-9a-f]+$/.test(name))
        await client.query(`drop database if exists ${name} with (force)`);
    }
  } finally {
    await client.end();
  }
}
