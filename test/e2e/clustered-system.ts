import { randomBytes } from "node:crypto";
import { startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import {
  CommonEnvSchema,
  createTopology,
  generateToken,
  parseEnv,
  TOKEN_PREFIXES,
  type Topology,
  topologyFromEnv,
} from "@kasmap/contracts";
import { startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import { DEFAULT_COLLECTOR_LIMITS, startProjectionService } from "@kasmap/projection-service";
import { createTestDatabase, eventually, type TestDatabase } from "@kasmap/testing/harness";
import { gatewayApi, type KasmapSystem } from "@kasmap/testing/system";
import type pg from "pg";
import { type NatsCluster, startNatsCluster } from "../../infra/local/nats-cluster.ts";
import type { ServiceIdentity } from "../../infra/nats/render-authorization.ts";
import { queryOnce } from "./resilient-system.ts";

const quiet = (service: string) => createLogger(service, process.env.LOG_LEVEL ?? "silent");

/**
 * Authz, projection and gateway in this process on a 3-node JetStream cluster of this file's own
 * (`startNatsCluster`: TLS, nkey users), each service as its own NATS user with the cluster's
 * three URLs, and the streams at `KASMAP_STREAM_REPLICAS=3`, parsed from the environment as the
 * services' `main.ts` parse it. The streams are first declared with one replica and then scaled
 * up by authz's `ensureStreams`, as when an existing deployment moves to a cluster.
 *
 * Why not `startKasmapSystem()`: it runs on the test run's shared single server, which this test
 * must not kill. The PostgreSQL is the shared one (a database of its own).
 */
export type ClusteredSystem = {
  cluster: NatsCluster;
  topology: Topology;
  /** The test's own connection, as authz's user (it may read every stream). */
  bus: Bus;
  database: TestDatabase;
  /** Each service's connection, by NATS user. */
  buses: Record<Exclude<ServiceIdentity, "sync">, Bus>;
  /** Stream replicas after the R1 declaration, before the services scaled them up. */
  replicasBeforeServices: number[];
  api: KasmapSystem["api"];
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
};

export async function startClusteredSystem(): Promise<ClusteredSystem> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    return await assemble(cleanups, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function assemble(
  cleanups: Array<() => Promise<unknown>>,
  stop: () => Promise<void>,
): Promise<ClusteredSystem> {
  const root = `t${randomBytes(5).toString("hex")}`;
  const env = parseEnv(CommonEnvSchema, { KASMAP_TOPOLOGY_ROOT: root, KASMAP_STREAM_REPLICAS: "3" });
  const topology = topologyFromEnv(env);
  const cluster = await startNatsCluster({ topologyRoot: root });
  cleanups.push(() => cluster.stop());
  const connectAs = async (identity: Exclude<ServiceIdentity, "sync">, name: string, as: Topology) => {
    const bus = await connectBus({ url: cluster.url, name, topology: as, ...cluster.auth(identity) });
    cleanups.push(() => bus.close());
    return bus;
  };
  // An existing deployment's streams: one replica each.
  const singleReplica = await connectAs("authz", "e2e-r1-declaration", createTopology(root));
  await ensureStreams(singleReplica);
  const replicasBeforeServices = await Promise.all(
    topology.streams.map(async (s) => (await singleReplica.jsm.streams.info(s.name)).config.num_replicas),
  );
  const bus = await connectAs("authz", "e2e-cluster-observer", topology);
  const buses = {
    authz: await connectAs("authz", "kasmap-authz", topology),
    projection: await connectAs("projection", "kasmap-projection", topology),
    gateway: await connectAs("gateway", "kasmap-gateway", topology),
  };
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const adminToken = generateToken(TOKEN_PREFIXES.personalAccess);
  // Authz first: it declares the streams (here: scales them to 3), the others may only read them.
  const authz = await startAuthzService({
    bus: buses.authz,
    databaseUrl: database.url,
    adminToken,
    logger: quiet("authz"),
  });
  cleanups.push(() => authz.stop());
  const projection = await startProjectionService({
    bus: buses.projection,
    databaseUrl: database.url,
    logger: quiet("projection"),
    // The load publishes hundreds of snapshots of one agent on purpose.
    collectorLimits: {
      ...DEFAULT_COLLECTOR_LIMITS,
      snapshotsPerMinute: 100_000,
      heartbeatsPerMinute: 100_000,
    },
  });
  cleanups.push(() => projection.stop());
  const gateway = await startGateway({
    bus: buses.gateway,
    databaseUrl: database.url,
    writeWaitMs: 3_000,
    logger: quiet("gateway"),
  });
  cleanups.push(() => gateway.stop());
  const api = gatewayApi(gateway.url, adminToken);
  await eventually(
    async () => ((await api("GET", "/user")).status === 200 ? true : undefined),
    "the bootstrapped admin",
    30_000,
  );
  return {
    cluster,
    topology,
    bus,
    database,
    buses,
    replicasBeforeServices,
    api,
    query: (text, values) => queryOnce(database.url, text, values),
    stop,
  };
}
