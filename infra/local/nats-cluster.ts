import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsClientAuth } from "@kasmap/bus";
import { DEFAULT_TOPOLOGY_ROOT } from "@kasmap/contracts";
import { exited, freePort } from "@kasmap/testing/private-servers";
import { z } from "zod";
import {
  renderAuthorization,
  SERVICE_IDENTITIES,
  type ServiceIdentity,
} from "../nats/render-authorization.ts";
import { renderClusterNodeConfig } from "../nats/render-cluster-node-config.ts";
import { loadOrCreateNkeyUser, nkeysDir, type StoredNkeyUser, storedAgentUsers } from "./local-nats-keys.ts";
import { waitForNats } from "./nats-connection-probe.ts";
import { findNatsServer } from "./own-nats-server.ts";
import { createThrowawayCertificates } from "./throwaway-certificates.ts";

/** One nats-server of the cluster, which a test may kill and start again. */
export type NatsClusterNode = {
  /** `server_name`, e.g. `kasmap-nats-2`. */
  readonly name: string;
  /** This node alone, e.g. `nats://127.0.0.1:41234` (TLS: clients need the CA). */
  readonly url: string;
  /** Its monitoring endpoint (`/jsz`, `/healthz`), loopback, no authentication. */
  readonly monitorUrl: string;
  readonly running: boolean;
  /** Sends `signal` and waits until the process has exited. The store stays. */
  kill(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /**
   * Starts it on the same ports and store; resolves once it answers `/healthz` (its JetStream
   * streams and consumers caught up with the cluster's) and knows the meta leader.
   */
  start(): Promise<void>;
};

export type NatsCluster = {
  /** Every node's client URL, comma-separated: what `NATS_URL` takes. */
  readonly url: string;
  /** The throwaway CA that signed the nodes' certificates: `NATS_TLS_CA_FILE`. */
  readonly caFile: string;
  /** Config, certificates, keys, stores and logs (`<name>.log`); removed by `stop()`. */
  readonly dir: string;
  readonly nodes: readonly NatsClusterNode[];
  readonly services: Readonly<Record<ServiceIdentity, StoredNkeyUser>>;
  /** How `identity` connects: its nkey seed and the CA. */
  auth(identity: ServiceIdentity): NatsClientAuth;
  /**
   * The collector user of agent `agentId`, added to every node's config when new (the running
   * nodes reload it, SIGHUP); resolves once every running node lets it in.
   */
  agentUser(agentId: number): Promise<StoredNkeyUser & { auth: NatsClientAuth }>;
  /** Stops every node (SIGTERM) and deletes `dir`. */
  stop(): Promise<void>;
};

export type NatsClusterOptions = {
  /** Subjects the rendered permissions name (`KASMAP_TOPOLOGY_ROOT`); default `kasmap`. */
  topologyRoot?: string;
  /** Nodes; 3 unless told (JetStream needs a majority: 3 survive one loss). */
  size?: number;
  /** `cluster { name }`; default `kasmap`. */
  clusterName?: string;
};

/** How long a node may take to be healthy and see a meta leader, ms (a loaded 2-CPU machine). */
const NODE_READY_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 100;
const TLS_TIMEOUT_SECONDS = 10;

type NodeLayout = {
  name: string;
  clientPort: number;
  routePort: number;
  monitorPort: number;
  config: string;
  log: string;
};

/**
 * A JetStream cluster of `size` nats-server processes on loopback, secured as production is
 * (infra/nats/cluster-node-*.conf): TLS for clients, mutual TLS between nodes with a throwaway CA
 * made by openssl, and nkey users with the permissions render-authorization.ts gives each
 * service and agent. Everything lives in a temporary directory. Resolves once every node is
 * healthy and agrees on a JetStream meta leader. `npm run cluster` (run-nats-cluster.ts) runs
 * one in the foreground; tests and benches call this to kill and restart nodes.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const binary = findNatsServer();
  if (!binary) throw new Error("nats-server is not installed: apt-get install nats-server");
  const dir = mkdtempSync(join(tmpdir(), "kasmap-nats-cluster-"));
  const children = new Map<string, ChildProcess>();
  const killAll = () => {
    for (const child of children.values()) child.kill("SIGKILL");
  };
  // A crashed test or an interrupted script must not leave servers running.
  process.once("exit", killAll);
  try {
    const layouts = await nodeLayouts(dir, options.size ?? 3);
    const certificates = await createThrowawayCertificates(
      dir,
      layouts.map((layout) => layout.name),
    );
    const keys = nkeysDir(dir);
    const services = Object.fromEntries(
      SERVICE_IDENTITIES.map((identity) => [identity, loadOrCreateNkeyUser(keys, identity)]),
    ) as Record<ServiceIdentity, StoredNkeyUser>;
    const topologyRoot = options.topologyRoot ?? DEFAULT_TOPOLOGY_ROOT;
    const authorizationFile = join(dir, "authorization.conf");
    const writeAuthorization = () =>
      writeFileSync(
        authorizationFile,
        renderAuthorization({
          topologyRoot,
          services: Object.fromEntries(
            SERVICE_IDENTITIES.map((identity) => [identity, services[identity].publicKey]),
          ) as Record<ServiceIdentity, string>,
          agents: storedAgentUsers(keys),
        }),
      );
    writeAuthorization();
    layouts.forEach((layout, i) => {
      const pair = certificates.servers[i];
      if (!pair) throw new Error(`no certificate for ${layout.name}`);
      writeFileSync(
        layout.config,
        renderClusterNodeConfig({
          serverName: layout.name,
          clusterName: options.clusterName ?? "kasmap",
          clientPort: layout.clientPort,
          routePort: layout.routePort,
          monitorPort: layout.monitorPort,
          routePorts: layouts.map((other) => other.routePort),
          // nats-server stores under `<store_dir>/jetstream`.
          storeDir: join(dir, layout.name),
          tls: { ...pair, caFile: certificates.caFile },
          authorizationInclude: "./authorization.conf",
          tlsTimeoutSeconds: TLS_TIMEOUT_SECONDS,
        }),
      );
    });
    const clientTls = { caFile: certificates.caFile };
    const nodes = layouts.map((layout) => clusterNode(binary, layout, children));
    // All at once: a node waits for a majority of its peers before it is healthy.
    await Promise.all(nodes.map((node) => node.start()));
    const stop = async () => {
      for (const node of nodes) if (node.running) await node.kill("SIGTERM");
      process.off("exit", killAll);
      rmSync(dir, { recursive: true, force: true });
    };
    return {
      url: nodes.map((node) => node.url).join(","),
      caFile: certificates.caFile,
      dir,
      nodes,
      services,
      auth: (identity) => ({ nkeySeed: services[identity].seed, tls: clientTls }),
      async agentUser(agentId) {
        const known = storedAgentUsers(keys).some((agent) => agent.agentId === agentId);
        const user = loadOrCreateNkeyUser(keys, `agent-${agentId}`);
        const auth = { nkeySeed: user.seed, tls: clientTls };
        if (!known) {
          writeAuthorization();
          for (const child of children.values()) child.kill("SIGHUP");
        }
        for (const node of nodes.filter((n) => n.running)) {
          if (!(await waitForNats(node.url, auth))) {
            throw new Error(`${node.name} did not accept agent ${agentId}'s new user; see ${dir}`);
          }
        }
        return { ...user, auth };
      },
      stop,
    };
  } catch (error) {
    killAll();
    process.off("exit", killAll);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function nodeLayouts(dir: string, size: number): Promise<NodeLayout[]> {
  if (!Number.isInteger(size) || size < 1 || size > 5) throw new RangeError("a cluster has 1 to 5 nodes");
  const layouts: NodeLayout[] = [];
  for (let i = 1; i <= size; i++) {
    const name = `kasmap-nats-${i}`;
    mkdirSync(join(dir, name), { recursive: true });
    layouts.push({
      name,
      clientPort: await freePort(),
      routePort: await freePort(),
      monitorPort: await freePort(),
      config: join(dir, `${name}.conf`),
      log: join(dir, `${name}.log`),
    });
  }
  return layouts;
}

function clusterNode(
  binary: string,
  layout: NodeLayout,
  children: Map<string, ChildProcess>,
): NatsClusterNode {
  const monitorUrl = `http://127.0.0.1:${layout.monitorPort}`;
  return {
    name: layout.name,
    url: `nats://127.0.0.1:${layout.clientPort}`,
    monitorUrl,
    get running() {
      return children.has(layout.name);
    },
    async kill(signal) {
      const child = children.get(layout.name);
      if (!child) return;
      children.delete(layout.name);
      child.kill(signal);
      await exited(child);
    },
    async start() {
      if (children.has(layout.name)) throw new Error(`${layout.name} is already running`);
      const log = openSync(layout.log, "a");
      const child = spawn(binary, ["-c", layout.config], { stdio: ["ignore", log, log] });
      children.set(layout.name, child);
      child.once("exit", () => {
        if (children.get(layout.name) === child) children.delete(layout.name);
      });
      await waitUntilReady(layout, monitorUrl, child);
    },
  };
}

/** `GET /jsz` of a node that knows the JetStream meta leader (its server name). */
const MetaLeaderKnownSchema = z.object({ meta_cluster: z.object({ leader: z.string().min(1) }) });

/**
 * Healthy (`/healthz`: JetStream on and its assets current, nats-server 2.9) and a meta leader
 * known (`/jsz`): the node can take JetStream API calls and its streams' replicas serve.
 */
async function waitUntilReady(layout: NodeLayout, monitorUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + NODE_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${layout.name} exited (${child.exitCode ?? child.signalCode}); see ${layout.log}`);
    }
    const healthy = await fetchJson(`${monitorUrl}/healthz`).then((answer) => answer.ok);
    const jsz = healthy ? (await fetchJson(`${monitorUrl}/jsz`)).body : null;
    if (MetaLeaderKnownSchema.safeParse(jsz).success) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`${layout.name} was not ready within ${NODE_READY_TIMEOUT_MS} ms; see ${layout.log}`);
}

async function fetchJson(url: string): Promise<{ ok: boolean; body: unknown }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { ok: response.ok, body: (await response.json()) as unknown };
  } catch {
    return { ok: false, body: null };
  }
}
