import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestDatabase, eventually, type TestDatabase } from "@kasmap/testing/harness";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AdvisoryLockSession,
  advisoryLockHeld,
  openAdvisoryLockSession,
} from "./advisory-lock-session.ts";
import { createDatabase } from "./database.ts";

const CLASS_ID = 0x7e57;
const TTL_MS = 1_500;
/** 1 s after the Unix epoch, µs: the start of any backend but the ones this test opens. */
const ANOTHER_BACKEND_START = "1000000";

let database: TestDatabase;
let db: Kysely<unknown>;
const sessions: AdvisoryLockSession[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, max: 1 });
});

afterAll(async () => {
  for (const child of children) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
  await Promise.all(sessions.map((session) => session.close()));
  await db?.destroy();
  await database?.drop();
});

async function open(name: string, idleTimeoutMs?: number): Promise<AdvisoryLockSession> {
  const session = await openAdvisoryLockSession({
    url: database.url,
    classId: CLASS_ID,
    applicationName: name,
    ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
  });
  sessions.push(session);
  return session;
}

/**
 * A session holding lock `key` in a process of its own, so the test can stop that process
 * (SIGSTOP) the way a frozen container is: its socket stays open and its kernel still answers
 * TCP, but nothing runs. Resolves once the lock is taken.
 */
async function holderProcess(key: number): Promise<ChildProcessWithoutNullStreams> {
  const sessionModule = fileURLToPath(new URL("./advisory-lock-session.ts", import.meta.url));
  const program = `
    import { openAdvisoryLockSession } from ${JSON.stringify(sessionModule)};
    const session = await openAdvisoryLockSession(${JSON.stringify({
      url: database.url,
      classId: CLASS_ID,
      applicationName: "frozen-holder",
      idleTimeoutMs: TTL_MS,
    })});
    console.log(await session.tryLock(${key}) ? "locked" : "refused");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program]);
  children.push(child);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await eventually(() => (output.includes("locked") ? true : undefined), "the child holds the lock", 30_000);
  return child;
}

describe("an advisory lock session with a time-to-live", () => {
  it("keeps the locks of a live holder that sends nothing for longer than its time-to-live", async () => {
    const holder = await open("quiet-holder", TTL_MS);
    expect(await holder.tryLock(1)).toBe(true);
    // The caller asks nothing for three times the TTL (a slow batch, a long stop()).
    await new Promise((resolve) => setTimeout(resolve, 3 * TTL_MS));
    const other = await open("contender");
    expect(await other.tryLock(1)).toBe(false);
    expect(await advisoryLockHeld(db, { classId: CLASS_ID, key: 1, ...holderIdentity(holder) })).toBe(true);
    const lost = await Promise.race([holder.lost, Promise.resolve(null)]);
    expect(lost).toBeNull();
  });

  it("frees the locks of a holder whose process stops, within its time-to-live", {
    timeout: 60_000,
  }, async () => {
    const child = await holderProcess(2);
    const other = await open("successor");
    expect(await other.tryLock(2)).toBe(false);
    child.kill("SIGSTOP");
    const stoppedAt = Date.now();
    // Without a time-to-live the lock stays taken for as long as the process is stopped.
    await eventually(
      async () => ((await other.tryLock(2)) ? true : undefined),
      "the stopped holder's lock is free",
      TTL_MS + 10_000,
    );
    const freedAfterMs = Date.now() - stoppedAt;
    expect(freedAfterMs).toBeLessThan(TTL_MS + 10_000);
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  });
});

describe("advisoryLockHeld", () => {
  it("tells the holding backend from another one given the same pid later", async () => {
    const holder = await open("holder");
    expect(await holder.tryLock(3)).toBe(true);
    const lock = { classId: CLASS_ID, key: 3, ...holderIdentity(holder) };
    expect(await advisoryLockHeld(db, lock)).toBe(true);
    // The pid of a backend that ended, reused by the one holding the lock now: another start.
    expect(await advisoryLockHeld(db, { ...lock, backendStart: ANOTHER_BACKEND_START })).toBe(false);
    expect(await advisoryLockHeld(db, { ...lock, key: 4 })).toBe(false);
  });
});

function holderIdentity(session: AdvisoryLockSession): { pid: number; backendStart: string } {
  return { pid: session.pid, backendStart: session.backendStart };
}
