import pg from "pg";

/**
 * One round trip to the database at `url` (`select 1` on a fresh connection, at most
 * `timeoutMs` to connect): resolves when it answers, rejects with the connection's error
 * otherwise. Services call it through a start-up retry before migrating.
 */
export async function checkDatabaseReachable(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A backend terminated while we wait must fail the query, not crash the process.
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}
