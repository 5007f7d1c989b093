import { openSse } from "@kasmap/testing";
import { ok } from "@kasmap/testing/system";
import { afterAll, describe, expect, it } from "vitest";
import { kasmapSystemForFile, userWithToken as newUserWithToken } from "./system-for-file.ts";

/**
 * Issue 7.7 / 7.9: a live event stream is only as good as the credential that opened it. A
 * token revoked, or a user blocked, while their stream is open must stop receiving events within
 * seconds — not keep reading the audit feed until they choose to reconnect.
 */
const ADMIN = "glpat-admin-live-credentials";
/** Generous: the stream re-checks its credential every few seconds; the old code never ended it. */
const ENDS_WITHIN_MS = 30_000;

const system = kasmapSystemForFile({ adminToken: ADMIN });
let userCount = 0;
/** Closes every stream a test opened, whether or not the server ended it. */
const closers: Array<() => void> = [];

afterAll(() => {
  for (const close of closers) close();
});

const streamUrl = () => `${system.gatewayUrl}/api/v4/events/stream`;

async function userWithToken(): Promise<{ userId: number; tokenId: number; token: string }> {
  userCount += 1;
  return newUserWithToken(system, ADMIN, `watcher-${userCount}`, ["read_api"]);
}

/** Opens the stream and resolves, once it is open, with a promise of when the server ends it. */
async function openStream(token: string): Promise<{ ended: Promise<"ended"> }> {
  const abort = new AbortController();
  const response = await fetch(streamUrl(), { headers: { "PRIVATE-TOKEN": token }, signal: abort.signal });
  expect(response.status).toBe(200);
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  const ended = (async () => {
    for await (const _chunk of body) {
      // Keep-alives and events: the stream is still open.
    }
    return "ended" as const;
  })().catch(() => "ended" as const);
  closers.push(() => abort.abort());
  // Wrapped: awaiting a promise of a promise would wait for the stream to end.
  return { ended };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | "still open"> {
  return Promise.race([promise, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))]);
}

describe("an open live event stream", () => {
  it("ends within seconds once its token is revoked, while others' streams go on", async () => {
    const control = await openSse(streamUrl(), ADMIN);
    closers.push(() => control.close());
    const watcher = await userWithToken();
    const { ended } = await openStream(watcher.token);

    await ok(system.call("DELETE", `/api/v4/personal_access_tokens/${watcher.tokenId}`, ADMIN), 204);

    expect(await within(ended, ENDS_WITHIN_MS)).toBe("ended");
    // The admin's stream was not swept up with it: a new event still reaches it.
    const group = await ok<{ id: number }>(
      system.call("POST", "/api/v4/groups", ADMIN, { name: "After", path: "after-revoke" }),
      201,
    );
    const frame = await control.next(
      (f) =>
        f.event === "io.kasmap.registry.group.changed.v1" &&
        JSON.stringify(f.data).includes(`"id":${group.id}`),
      ENDS_WITHIN_MS,
    );
    expect(frame.event).toBe("io.kasmap.registry.group.changed.v1");
  });

  it("ends within seconds once its user is blocked", async () => {
    const watcher = await userWithToken();
    const { ended } = await openStream(watcher.token);

    await ok(system.call("POST", `/api/v4/users/${watcher.userId}/block`, ADMIN), 201);

    expect(await within(ended, ENDS_WITHIN_MS)).toBe("ended");
  });
});
