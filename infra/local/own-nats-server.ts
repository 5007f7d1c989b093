import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@kasmap/logging";
import { renderAuthorization } from "../nats/render-authorization.ts";
import { loadOrCreateNkeyUser, nkeysDir, type StoredNkeyUser, storedAgentUsers } from "./local-nats-keys.ts";
import { waitForNats } from "./nats-connection-probe.ts";

const CANDIDATES = [
  "nats-server",
  "/usr/sbin/nats-server",
  "/usr/local/bin/nats-server",
  "/usr/bin/nats-server",
];

export type OwnNatsServer = {
  url: string;
  services: {
    authz: StoredNkeyUser;
    projection: StoredNkeyUser;
    gateway: StoredNkeyUser;
    sync: StoredNkeyUser;
  };
  /** Adds the agent's collector user when it is new (config rewritten, server reloaded). */
  agentUser(agentId: number): Promise<StoredNkeyUser>;
  stop(): Promise<void>;
};

type Paths = { stateDir: string; keys: string; config: string; pidFile: string; store: string; log: string };

function pathsFor(stateDir: string): Paths {
  return {
    stateDir,
    keys: nkeysDir(stateDir),
    config: join(stateDir, "nats-server.conf"),
    pidFile: join(stateDir, "nats-server.pid"),
    store: join(stateDir, "nats"),
    log: join(stateDir, "nats-server.log"),
  };
}

function serviceUsers(keys: string): OwnNatsServer["services"] {
  return {
    authz: loadOrCreateNkeyUser(keys, "authz"),
    projection: loadOrCreateNkeyUser(keys, "projection"),
    gateway: loadOrCreateNkeyUser(keys, "gateway"),
    sync: loadOrCreateNkeyUser(keys, "sync"),
  };
}

/**
 * The config of `npm start`'s own server: loopback only, JetStream in the state dir, and nkey
 * authentication for every client (no `no_auth_user`, so a client without credentials is
 * refused). Loopback also stands in for TLS here: nothing leaves the machine. Rewritten on every
 * start and whenever an agent's user is added.
 */
function writeConfig(paths: Paths, port: number, topologyRoot: string): void {
  const services = serviceUsers(paths.keys);
  const authorization = renderAuthorization({
    topologyRoot,
    services: {
      authz: services.authz.publicKey,
      projection: services.projection.publicKey,
      gateway: services.gateway.publicKey,
      sync: services.sync.publicKey,
    },
    agents: storedAgentUsers(paths.keys),
  });
  const lines = [
    "# Written by npm start (infra/local/own-nats-server.ts) on every start: edits are overwritten.",
    `listen: 127.0.0.1:${port}`,
    "server_name: kasmap-local",
    `pid_file: ${JSON.stringify(paths.pidFile)}`,
    `jetstream { store_dir: ${JSON.stringify(paths.store)} }`,
    authorization,
  ];
  writeFileSync(paths.config, lines.join("\n"));
}

/** The nats-server binary on PATH or in the usual places, or null when none is installed. */
export function findNatsServer(): string | null {
  const onPath = (binary: string) =>
    (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(`${dir}/${binary}`));
  return (
    CANDIDATES.find((candidate) => (candidate.includes("/") ? existsSync(candidate) : onPath(candidate))) ??
    null
  );
}

/**
 * Runs a server (`child`, or the one named by the pid file when a previous `npm start` left it
 * running) and manages its agent users.
 */
function manage(
  paths: Paths,
  url: string,
  port: number,
  topologyRoot: string,
  child: ChildProcess | null,
): OwnNatsServer {
  const services = serviceUsers(paths.keys);
  const pid = () => child?.pid ?? Number(readFileSync(paths.pidFile, "utf8").trim());
  return {
    url,
    services,
    async agentUser(agentId) {
      const known = storedAgentUsers(paths.keys).some((agent) => agent.agentId === agentId);
      const user = loadOrCreateNkeyUser(paths.keys, `agent-${agentId}`);
      if (!known) {
        writeConfig(paths, port, topologyRoot);
        process.kill(pid(), "SIGHUP");
      }
      if (!(await waitForNats(url, { nkeySeed: user.seed }))) {
        throw new Error(`nats-server did not accept agent ${agentId}'s new user; see ${paths.log}`);
      }
      return user;
    },
    async stop() {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      } else if (!child) {
        process.kill(pid(), "SIGTERM");
      }
    },
  };
}

/** Starts `nats-server -c <state dir>/nats-server.conf` and waits until the authz user gets in. */
export async function startOwnNatsServer(
  stateDir: string,
  port: number,
  topologyRoot: string,
  logger: Logger,
): Promise<OwnNatsServer> {
  const binary = findNatsServer();
  if (!binary) {
    throw new Error(
      `No NATS server answers on 127.0.0.1:${port} and nats-server is not installed: apt-get install nats-server (Debian/Ubuntu) or see https://docs.nats.io/running-a-nats-service/introduction/installation`,
    );
  }
  const paths = pathsFor(stateDir);
  mkdirSync(paths.store, { recursive: true });
  writeConfig(paths, port, topologyRoot);
  const logFile = openSync(paths.log, "a");
  const child = spawn(binary, ["-c", paths.config], { stdio: ["ignore", logFile, logFile] });
  // A crash of npm start must not leave the server running with nobody to stop it.
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const url = `nats://127.0.0.1:${port}`;
  const server = manage(paths, url, port, topologyRoot, child);
  if (!(await waitForNats(url, { nkeySeed: server.services.authz.seed }))) {
    child.kill("SIGKILL");
    throw new Error(`nats-server did not start; see ${paths.log}`);
  }
  logger.info(
    { binary, config: paths.config, keys: paths.keys },
    "started nats-server with JetStream and nkey authentication (loopback only)",
  );
  return server;
}

/**
 * A server an earlier `npm start` left running on the port: it refuses anonymous clients and
 * accepts our authz key. Returns it managed through its pid file, or null when it is not ours.
 */
export async function adoptOwnNatsServer(
  stateDir: string,
  port: number,
  topologyRoot: string,
): Promise<OwnNatsServer | null> {
  const paths = pathsFor(stateDir);
  if (!existsSync(join(paths.keys, "authz.seed")) || !existsSync(paths.pidFile)) return null;
  const url = `nats://127.0.0.1:${port}`;
  const server = manage(paths, url, port, topologyRoot, null);
  return (await waitForNats(url, { nkeySeed: server.services.authz.seed }, 1)) ? server : null;
}
