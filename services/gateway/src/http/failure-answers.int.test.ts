import { connect } from "node:net";
import { createLogger } from "@kasmap/logging";
import { gatewayClient } from "@kasmap/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../index.ts";
import { type GatewayFixture, startGatewayFixture, TOKENS } from "../testing/gateway-fixture.ts";

/**
 * Issue 7.11 and 7.10: an outage of a dependency is a 503 with `Retry-After` (never a 500), a
 * body over the documented limit is a 413 naming it, and a client that never finishes its
 * request is cut off after the request timeout.
 */
const UNAVAILABLE = { message: "503 Service Unavailable" };

async function expectUnavailable(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await response.json()).toEqual(UNAVAILABLE);
}

describe("a gateway whose database cannot be reached", () => {
  let f: GatewayFixture;
  let unreachable: RunningGateway;
  beforeAll(async () => {
    f = await startGatewayFixture();
    // Port 1 on loopback: nothing listens, every connection attempt is refused.
    unreachable = await startGateway({
      bus: f.bus,
      databaseUrl: "postgres://postgres@127.0.0.1:1/kasmap",
      logger: createLogger("gateway-no-db", "silent"),
    });
  });
  afterAll(async () => {
    await unreachable?.stop();
    await f?.close();
  });

  it("answers 503 with Retry-After when the pool cannot connect", async () => {
    const response = await gatewayClient(unreachable.url).fetch("/api/v4/user", { token: TOKENS.developer });
    await expectUnavailable(response);
  });

  it("answers 503 with Retry-After once its database is dropped under it", async () => {
    expect((await f.call("/api/v4/user", { token: TOKENS.developer })).status).toBe(200);
    await f.db.destroy();
    await f.database.drop();
    await expectUnavailable(await f.call("/api/v4/user", { token: TOKENS.developer }));
    const readiness = await f.call("/-/readiness");
    expect(readiness.status).toBe(503);
  });
});

describe("a gateway whose NATS connection is gone", () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await startGatewayFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("answers a write 503 with Retry-After", async () => {
    await f.bus.nc.close();
    const response = await f.call("/api/v4/groups", {
      method: "POST",
      token: TOKENS.admin,
      json: { name: "G", path: "g" },
    });
    await expectUnavailable(response);
  });
});

describe("request limits", () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await startGatewayFixture({ requestTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await f?.close();
  });

  it("answers a body over the 1 MiB limit 413 naming the limit, before any route runs", async () => {
    const response = await f.call("/api/v4/groups", {
      method: "POST",
      token: TOKENS.admin,
      json: { name: "x".repeat(1024 * 1024), path: "big" },
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      message: "413 Request Entity Too Large - the request body is over 1048576 bytes",
    });
  });

  it("closes a connection whose request never completes (slowloris) after the request timeout", async () => {
    const socket = connect(Number(new URL(f.gateway.url).port), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("GET /-/health HTTP/1.1\r\nHost: kasmap\r\nX-Slow: ");
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", () => {});
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 15_000);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    socket.destroy();
    // Closed within seconds of the 1 s request timeout (Node's own default is 300 s).
    expect(closed).toBe(true);
    expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 408/);
  });
});
