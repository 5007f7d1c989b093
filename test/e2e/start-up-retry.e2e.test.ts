import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  createTestTopology,
  eventually,
  type TestDatabase,
  testNatsUrl,
} from "@kasmap/testing/harness";
import { freePort } from "@kasmap/testing/private-servers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue 7.11: a service started while NATS or PostgreSQL is unreachable keeps retrying with
 * backoff and says so in its log — it neither hangs silently nor exits into a crash loop.
 * Each service runs as `npm start` runs it: its `main.ts` in a child process.
 */
const GATEWAY_MAIN = fileURLToPath(new URL("../../services/gateway/src/main.ts", import.meta.url));
const MAINS = {
  authz: fileURLToPath(new URL("../../services/authz/src/main.ts", import.meta.url)),
  projection: fileURLToPath(new URL("../../services/projection/src/main.ts", import.meta.url)),
};
/** Nothing listens on port 1 of loopback: connections are refused at once. */
const CLOSED_NATS = "nats://127.0.0.1:1";
const CLOSED_POSTGRES = "postgres://postgres@127.0.0.1:1/kasmap";

type Started = { child: ChildProcessWithoutNullStreams; output: () => string; exited: () => number | null };
const children: ChildProcessWithoutNullStreams[] = [];
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

afterAll(async () => {
  await database?.drop();
});

function startService(main: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, ["--import", "tsx", main], {
    env: { ...process.env, LOG_LEVEL: "info", ...env },
  });
  children.push(child);
  let output = "";
  let exitCode: number | null = null;
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.on("exit", (code) => {
    exitCode = code ?? -1;
  });
  return { child, output: () => output, exited: () => exitCode };
}

/** Waits until `count` retry lines were logged (or the process exited, or 45 s passed). */
async function retryLines(started: Started, count: number): Promise<number> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const lines = started
      .output()
      .split("\n")
      .filter((line) => /retrying/i.test(line));
    if (lines.length >= count || started.exited() !== null || Date.now() > deadline) return lines.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.each(Object.entries(MAINS))("%s started without its dependencies", (_name, main) => {
  it("retries NATS with backoff, saying so, and stays up", async () => {
    const started = startService(main, {
      NATS_URL: CLOSED_NATS,
      DATABASE_URL: database.url,
      KASMAP_TOPOLOGY_ROOT: createTestTopology().root,
    });
    expect(await retryLines(started, 2)).toBeGreaterThanOrEqual(2);
    expect(started.exited()).toBeNull();
  });

  it("retries PostgreSQL with backoff, saying so, and stays up", async () => {
    const started = startService(main, {
      NATS_URL: testNatsUrl(),
      DATABASE_URL: CLOSED_POSTGRES,
      KASMAP_TOPOLOGY_ROOT: createTestTopology().root,
    });
    expect(await retryLines(started, 2)).toBeGreaterThanOrEqual(2);
    expect(started.exited()).toBeNull();
  });
});

describe("the gateway started without NATS", () => {
  it("says so in readiness while it retries, and answers other requests 503", async () => {
    const port = await freePort();
    const started = startService(GATEWAY_MAIN, {
      NATS_URL: CLOSED_NATS,
      DATABASE_URL: database.url,
      KASMAP_HTTP_PORT: String(port),
      KASMAP_TOPOLOGY_ROOT: createTestTopology().root,
    });
    expect(await retryLines(started, 1)).toBeGreaterThanOrEqual(1);
    const readiness = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/-/readiness`).catch(() => undefined);
      return response?.status === 503 ? response : undefined;
    }, "readiness answering while NATS is retried");
    const body = (await readiness.json()) as {
      status: string;
      nats_check: Array<{ status: string; message?: string }>;
    };
    expect(body.status).toBe("failed");
    expect(body.nats_check[0]?.message).toMatch(/NATS unreachable at start; retrying \(attempt \d+\)/);
    const api = await fetch(`http://127.0.0.1:${port}/api/v4/user`);
    expect(api.status).toBe(503);
    expect(Number(api.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(started.exited()).toBeNull();
  });

  it("hands the port to the real gateway once NATS answers", async () => {
    const port = await freePort();
    const started = startService(GATEWAY_MAIN, {
      NATS_URL: testNatsUrl(),
      DATABASE_URL: database.url,
      KASMAP_HTTP_PORT: String(port),
      KASMAP_TOPOLOGY_ROOT: createTestTopology().root,
    });
    await eventually(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/-/readiness`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      },
      "the real gateway ready",
      45_000,
    );
    expect(started.exited()).toBeNull();
  });
});
