import { startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import { generateToken, TOKEN_PREFIXES, type Topology } from "@kasmap/contracts";
import { startGateway } from "@kasmap/gateway-service";
import { startProjectionService } from "@kasmap/projection-service";
import { createTestDatabase, createTestTopology, testNatsUrl } from "@kasmap/testing/harness";

export type RunningSystem = {
  gatewayUrl: string;
  adminToken: string;
  bus: Bus;
  topology: Topology;
  /** Calls `/api/v4<path>` with the admin token (or `token`), returning status, headers and JSON. */
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | null }>;
  stop(): Promise<void>;
};

/**
 * Authz, projection and gateway against real NATS JetStream and PostgreSQL, on a database and
 * stream names of this test file's own — the system as `npm start` runs it, minus the demo.
 */
export async function startRunningSystem(): Promise<RunningSystem> {
  const database = await createTestDatabase();
  const topology = createTestTopology();
  const adminToken = generateToken(TOKEN_PREFIXES.personalAccess);
  const bus = await connectBus({ url: testNatsUrl(), name: "e2e", topology });
  await ensureStreams(bus);
  const authz = await startAuthzService({ bus, databaseUrl: database.url, adminToken });
  const projection = await startProjectionService({ bus, databaseUrl: database.url });
  const gateway = await startGateway({ bus, databaseUrl: database.url, port: 0, host: "127.0.0.1" });

  async function api(method: string, path: string, body?: unknown, token: string | null = adminToken) {
    const response = await fetch(`${gateway.url}/api/v4${path}`, {
      method,
      headers: {
        ...(token ? { "PRIVATE-TOKEN": token } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    };
  }

  // The admin token works once the projection has applied the bootstrap events.
  for (let i = 0; i < 200 && (await api("GET", "/groups/0")).status === 401; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }

  return {
    gatewayUrl: gateway.url,
    adminToken,
    bus,
    topology,
    api,
    async stop() {
      await gateway.stop();
      await projection.stop();
      await authz.stop();
      for (const stream of topology.streams) await bus.jsm.streams.delete(stream.name).catch(() => {});
      await bus.close();
      await database.drop();
    },
  };
}
