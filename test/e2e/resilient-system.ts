import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AuthzService, startAuthzService } from "@kasmap/authz-service";
import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import { generateToken, TOKEN_PREFIXES, type Topology } from "@kasmap/contracts";
import { type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";
import { createLogger } from "@kasmap/logging";
import { PROJECTION_CONSUMERS } from "@kasmap/projection-service";
import { createTestTopology, eventually } from "@kasmap/testing/harness";
import {
  createPrivateNats,
  createPrivatePostgres,
  exited,
  type PrivateNats,
  type PrivatePostgres,
} from "@kasmap/testing/private-servers";
import { gatewayApi } from "@kasmap/testing/system";
import pg from "pg";

// Outages make the services log every failed attempt; the assertions say what matters.
const quiet = (service: string) => createLogger(service, process.env.LOG_LEVEL ?? "silent");
const root = fileURLToPath(new URL("../..", import.meta.url));

export type ApiResult = { status: number; body: Record<string, unknown> | null };

/**
 * The whole system on a private nats-server and a private PostgreSQL cluster: authz and the
 * gateway in this process, the projection and a collector (watching a simulated cluster) as
 * child processes, so each can be killed like a real deployment's.
 *
 * Why not `startKasmapSystem()`: it runs every service in this process on the test run's shared
 * NATS and PostgreSQL, which this test must not stop; here the servers are private (so the test
 * can take them down and bring them back) and the projection is a child process (so it can be
 * SIGKILLed mid-batch and started again). It shares what carries over: the gateway `api` client
 * (`gatewayApi`), the test topology and the private-server launcher.
 */
export type ResilientSystem = {
  nats: PrivateNats;
  postgres: PrivatePostgres;
  bus: Bus;
  topology: Topology;
  simulator: KubeSimulator;
  agentId: number;
  /** `KasmapSystem.api` as the admin, answering status and body (the assertions compare both). */
  api(method: string, path: string, body?: unknown): Promise<ApiResult>;
  /** Runs one query on a fresh connection (a pool would hide reconnection problems of its own). */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  startProjection(): void;
  killProjection(): Promise<void>;
  stop(): Promise<void>;
};

type Children = { projection: ChildProcess | null; collector: ChildProcess | null };

export async function startResilientSystem(): Promise<ResilientSystem> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const children: Children = { projection: null, collector: null };
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    return await assemble(cleanups, children, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function assemble(
  cleanups: Array<() => Promise<unknown>>,
  children: Children,
  stop: () => Promise<void>,
): Promise<ResilientSystem> {
  const kill = async (child: ChildProcess | null) => {
    child?.kill("SIGKILL");
    if (child) await exited(child);
  };
  cleanups.push(async () => kill(children.collector));
  cleanups.push(async () => kill(children.projection));
  const nats = await createPrivateNats();
  cleanups.push(() => nats.destroy());
  const postgres = await createPrivatePostgres();
  cleanups.push(() => postgres.destroy());
  const topology = createTestTopology();
  const bus = await connectBus({ url: nats.url, name: "e2e-resilience", topology });
  cleanups.push(() => bus.close());
  await ensureStreams(bus);
  const adminToken = generateToken(TOKEN_PREFIXES.personalAccess);
  const authz: AuthzService = await startAuthzService({
    bus,
    databaseUrl: postgres.url,
    adminToken,
    logger: quiet("authz"),
  });
  cleanups.push(() => authz.stop());
  const childEnv = {
    ...process.env,
    NATS_URL: nats.url,
    DATABASE_URL: postgres.url,
    KASMAP_TOPOLOGY_ROOT: topology.root,
    LOG_LEVEL: "silent",
    // The resilience test publishes a burst of hundreds of snapshots for one agent on purpose.
    KASMAP_PROJECTION_SNAPSHOTS_PER_MINUTE: "100000",
    KASMAP_PROJECTION_HEARTBEATS_PER_MINUTE: "100000",
  };
  const startProjection = () => {
    children.projection = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "services/projection/src/main.ts")],
      {
        env: childEnv,
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  };
  startProjection();
  // The read model's tables exist once the projection has migrated; the gateway reads them.
  await eventually(
    () => queryOnce(postgres.url, "select 1 from read_model.projection_positions limit 1").then(() => true),
    "the projection's migrations",
    30_000,
  );
  const gateway: RunningGateway = await startGateway({
    bus,
    databaseUrl: postgres.url,
    writeWaitMs: 3_000,
    logger: quiet("gateway"),
  });
  cleanups.push(() => gateway.stop());
  const asAdmin = gatewayApi(gateway.url, adminToken);
  const api: ResilientSystem["api"] = async (method, path, body) => {
    const { status, body: answer } = await asAdmin(method, path, body);
    return { status, body: answer };
  };
  await eventually(
    async () => ((await api("GET", "/user")).status === 200 ? true : undefined),
    "the admin token",
    30_000,
  );

  const simulator = new KubeSimulator();
  await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  await simulator.start({ host: "127.0.0.1", port: 0 });
  cleanups.push(() => simulator.close());
  const { agentId, agentToken } = await registerAgent(api);
  const kubeDir = mkdtempSync(join(tmpdir(), "kasmap-resilience-"));
  cleanups.push(async () => rmSync(kubeDir, { recursive: true, force: true }));
  await simulator.writeKubeconfig(join(kubeDir, "kubeconfig"));
  children.collector = spawn(
    process.execPath,
    [join(root, "services/collector/bin/kasmap-collector.mjs"), "--coalesce-ms", "50"],
    {
      env: {
        ...childEnv,
        KASMAP_AGENT_TOKEN: agentToken,
        KUBECONFIG: join(kubeDir, "kubeconfig"),
        POD_IP: "10.244.1.17",
        POD_NAMESPACE: "gitlab-agent",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  return {
    nats,
    postgres,
    bus,
    topology,
    simulator,
    agentId,
    api,
    query: (text, values) => queryOnce(postgres.url, text, values),
    startProjection,
    async killProjection() {
      await kill(children.projection);
      children.projection = null;
    },
    stop,
  };
}

export async function queryOnce<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A group, a project and an agent registered through the gateway as the admin, with an agent token. */
export async function registerAgent(
  api: ResilientSystem["api"],
  suffix = "",
): Promise<{ agentId: number; agentToken: string }> {
  const group = await api("POST", "/groups", { name: `Resilience${suffix}`, path: `resilience${suffix}` });
  const project = await api("POST", "/projects", {
    name: "Clusters",
    path: "clusters",
    namespace_id: group.body?.id,
  });
  const agent = await api("POST", `/projects/${project.body?.id}/cluster_agents`, {
    name: "resilient-agent",
  });
  const token = await api("POST", `/projects/${project.body?.id}/cluster_agents/${agent.body?.id}/tokens`, {
    name: "collector",
  });
  if (token.status !== 201) throw new Error(`could not register the agent: ${JSON.stringify(token.body)}`);
  return { agentId: Number(agent.body?.id), agentToken: String(token.body?.token) };
}

/** What reading the projection's progress needs: the read model and the streams. */
type ProjectionProgressSource = Pick<ResilientSystem, "query" | "bus" | "topology">;

/** Each projection consumer's stored position and its stream's last sequence. */
export async function projectionLag(
  system: ProjectionProgressSource,
): Promise<Array<{ consumer: string; position: number; lastSeq: number }>> {
  const rows = await system.query<{ consumer: string; stream_seq: number }>(
    "select consumer, stream_seq from read_model.projection_positions",
  );
  return Promise.all(
    PROJECTION_CONSUMERS.map(async ({ stream, durable }) => {
      const info = await system.bus.jsm.streams.info(system.topology.streamNames[stream]);
      const position = Number(rows.find((r) => r.consumer === durable)?.stream_seq ?? 0);
      return { consumer: durable, position, lastSeq: info.state.last_seq };
    }),
  );
}

/** Resolves once every projection consumer has applied its stream up to the last message. */
export async function projectionCaughtUp(
  system: ProjectionProgressSource,
  timeoutMs = 30_000,
): Promise<true> {
  let behind: Array<{ consumer: string; position: number; lastSeq: number }> = [];
  try {
    return await eventually(
      async () => {
        behind = (await projectionLag(system)).filter((c) => c.position !== c.lastSeq);
        return behind.length === 0 ? true : undefined;
      },
      "the projection to catch up with every stream",
      timeoutMs,
    );
  } catch (error) {
    // Name the consumers still behind: the first thing to know when this times out.
    throw new Error(`${(error as Error).message}; behind: ${JSON.stringify(behind)}`);
  }
}
