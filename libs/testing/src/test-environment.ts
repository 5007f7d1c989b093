import { randomBytes } from "node:crypto";
import { createTopology, type Topology } from "@kasmap/contracts";
import pg from "pg";
import { recordLeftover } from "./test-leftovers.ts";

/**
 * Where the integration tests find NATS and PostgreSQL. `global-setup.ts` resolves them once
 * (environment, else testcontainers, else the local default ports) and exports them as
 * NATS_URL / DATABASE_URL for every test file.
 */
export function testNatsUrl(): string {
  const url = process.env.NATS_URL;
  if (!url) throw new Error("NATS_URL is not set: run integration tests through vitest's global setup");
  return url;
}

export function testDatabaseAdminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: run integration tests through vitest's global setup");
  return url;
}

function randomSuffix(): string {
  return randomBytes(5).toString("hex");
}

/**
 * A fresh topology (subjects and stream names) for one test file, so files never share
 * streams on one server. Streams are created by the code under test (`ensureStreams`).
 */
export function createTestTopology(): Topology {
  const topology = createTopology(`t${randomSuffix()}`);
  recordLeftover("topology", topology.root);
  return topology;
}

export type TestDatabase = { url: string; name: string; drop(): Promise<void> };

/**
 * Creates a database of its own for one test file on the shared server (cheaper than a server
 * per file, and as isolated for our purposes) and drops it afterwards.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = testDatabaseAdminUrl();
  const name = `kasmap_test_${randomSuffix()}`;
  recordLeftover("database", name);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}
