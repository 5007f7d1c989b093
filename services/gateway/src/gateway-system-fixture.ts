import { startAuthzService } from "@kasmap/authz-service";
import { connectBus } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import { startProjectionService } from "@kasmap/projection-service";
import { createTestDatabase, createTestTopology, eventually, testNatsUrl } from "@kasmap/testing/harness";
import { expect } from "vitest";
import { type GatewayOptions, startGateway } from "./index.ts";

export type GatewaySystem = {
  /** The gateway's base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Calls the gateway; `header` names the token header (`private-token`, `job-token`). */
  call(method: string, path: string, token: string, body?: unknown, header?: string): Promise<Response>;
  stop(): Promise<void>;
};

const silent = (service: string) => createLogger(service, "silent");

/**
 * The gateway with the real authz and projection services on a database and topology of the
 * test file's own: every write goes through authz, every read comes from the read model the
 * projection filled. Resolves once the bootstrapped admin (`adminToken`) can call the API.
 */
export async function startGatewaySystem(
  adminToken: string,
  gatewayOptions: Pick<GatewayOptions, "jobTokenMaxLifetimeMs"> = {},
): Promise<GatewaySystem> {
  const database = await createTestDatabase();
  const bus = await connectBus({
    url: testNatsUrl(),
    name: "gateway-system-test",
    topology: createTestTopology(),
  });
  const projection = await startProjectionService({
    bus,
    databaseUrl: database.url,
    logger: silent("projection"),
  });
  const authz = await startAuthzService({
    bus,
    databaseUrl: database.url,
    adminToken,
    logger: silent("authz"),
  });
  const gateway = await startGateway({
    bus,
    databaseUrl: database.url,
    logger: silent("gateway"),
    ...gatewayOptions,
  });

  function call(method: string, path: string, token: string, body?: unknown, header = "private-token") {
    const headers: Record<string, string> = { [header]: token };
    if (typeof body === "string") headers["content-type"] = "text/plain";
    else if (body !== undefined) headers["content-type"] = "application/json";
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return fetch(`${gateway.url}${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
  }

  // The admin is bootstrapped by authz and reaches the read model through the projection.
  await eventually(
    async () => ((await call("GET", "/api/v4/user", adminToken)).status === 200 ? true : undefined),
    "admin visible",
  );
  return {
    url: gateway.url,
    call,
    async stop() {
      await gateway.stop();
      await authz.stop();
      await projection.stop();
      for (const stream of bus.topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
      await bus.close();
      await database.drop();
    },
  };
}

/** Asserts the status (showing the body when it differs) and returns the parsed JSON body, or null. */
export async function ok<T>(response: Promise<Response>, status: number): Promise<T> {
  const r = await response;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text ? JSON.parse(text) : null) as T;
}
