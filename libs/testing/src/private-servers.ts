import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

/**
 * NATS and PostgreSQL servers of one test file's own, which it may configure, stop, kill and
 * restart without disturbing the shared servers on 4222/5432 other test files use. Test-only;
 * `npm start`'s own nats-server is infra/local/own-nats-server.ts (detached, long-lived).
 */

const run = promisify(execFile);

const NATS_SERVER = process.env.KASMAP_NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

/** A TCP port nothing listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export type PrivateNats = {
  readonly url: string;
  /** Starts the server on the same port and store directory (JetStream state survives). */
  start(): Promise<void>;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Kills the server and removes its store directory. */
  destroy(): Promise<void>;
};

/** `nats-server -js -a 127.0.0.1 -p <free port> -sd <tmp dir>`. */
export async function createPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), "kasmap-nats-"));
  let child: ChildProcess | null = null;
  const nats: PrivateNats = {
    url: `nats://127.0.0.1:${port}`,
    async start() {
      const started = spawn(NATS_SERVER, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      child = started;
      await new Promise<void>((resolve, reject) => {
        let log = "";
        started.stderr?.on("data", (chunk: Buffer) => {
          log += chunk.toString();
          if (log.includes("Server is ready")) resolve();
        });
        started.once("exit", (code) => reject(new Error(`nats-server exited with ${code}: ${log}`)));
      });
    },
    async kill(signal) {
      if (!child) return;
      const running = child;
      child = null;
      running.kill(signal);
      await exited(running);
    },
    async destroy() {
      await nats.kill("SIGKILL");
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  await nats.start();
  return nats;
}

export type PrivatePostgres = {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, trust authentication. */
  readonly url: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m fast` (disconnect clients, clean shutdown) or `-m immediate` (crash-like). */
  stop(mode: "fast" | "immediate"): Promise<void>;
  destroy(): Promise<void>;
};

function postgresBinDir(): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error("no PostgreSQL under /usr/lib/postgresql");
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/**
 * initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user (the
 * temp dir is handed to it); as anyone else, run them directly.
 */
async function runPostgresTool(tool: string, args: string[]): Promise<void> {
  const binary = join(postgresBinDir(), tool);
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot
    ? ["runuser", ["-u", "postgres", "--", binary, ...args]]
    : [binary, args];
  await run(command, commandArgs, { timeout: 60_000 });
}

/** A temp dir the PostgreSQL tools may write (handed to the `postgres` user when run as root). */
async function postgresOwnedTempDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "kasmap-pg-"));
  if (process.getuid?.() === 0) {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  return dir;
}

/** A throwaway cluster in a temp dir, on a free port, listening on 127.0.0.1 only. */
export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await postgresOwnedTempDir();
  const data = join(dir, "data");
  // initdb's pg_hba.conf with -A trust also lets 127.0.0.1 connect for replication (a replica's base backup).
  await runPostgresTool("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  return startedCluster(dir, data);
}

/**
 * A streaming replica of `primary` (one of `createPrivatePostgres`): `pg_basebackup -R -X stream`
 * into a temp dir, started on a free port as a hot standby that follows the primary's WAL.
 * `select pg_wal_replay_pause()` on it holds it behind the primary at will.
 */
export async function createPrivateReplica(primary: PrivatePostgres): Promise<PrivatePostgres> {
  const primaryPort = new URL(primary.url).port;
  const dir = await postgresOwnedTempDir();
  const data = join(dir, "data");
  await runPostgresTool("pg_basebackup", [
    "-h",
    "127.0.0.1",
    "-p",
    primaryPort,
    "-U",
    "postgres",
    "-D",
    data,
    "-R",
    "-X",
    "stream",
  ]);
  return startedCluster(dir, data);
}

async function startedCluster(dir: string, data: string): Promise<PrivatePostgres> {
  const port = await freePort();
  // fsync off: a crash of the machine is not what these tests simulate, and it halves start-up.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await runPostgresTool("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "start"]);
    },
    async stop(mode) {
      await runPostgresTool("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
    },
    async destroy() {
      try {
        await pg.stop("immediate");
      } catch {
        // Already stopped.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}

/**
 * A nats-server of one test file's own, on a free port with a temporary JetStream
 * store, configured with a rendered `authorization` block. The shared server on 4222 runs
 * without auth; permissions can only be tested on a server whose config we write.
 */
/** Runs one statement on `url` with a connection of its own; its rows. */
export async function queryOnce<T>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Resolves once `standby` has replayed everything `primary` had written when called. */
export async function replayedEverything(primary: PrivatePostgres, standby: PrivatePostgres): Promise<void> {
  const [written] = await queryOnce<{ lsn: string }>(primary.url, "select pg_current_wal_lsn()::text as lsn");
  for (let waited = 0; waited < 30_000; waited += 50) {
    const [row] = await queryOnce<{ behind: boolean }>(
      standby.url,
      "select pg_last_wal_replay_lsn() < $1::pg_lsn as behind",
      [written?.lsn],
    );
    if (row?.behind === false) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the standby ${standby.url} did not replay the primary's WAL within 30 s`);
}

/** Pauses or resumes `standby`'s replay (`pg_wal_replay_pause()` / `…_resume()`). */
export async function setReplay(standby: PrivatePostgres, paused: boolean): Promise<void> {
  await queryOnce(standby.url, paused ? "select pg_wal_replay_pause()" : "select pg_wal_replay_resume()");
}

/** One address in front of several servers (`createRoundRobinProxy`). */
export type RoundRobinProxy = {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  /** Connections handed to each server so far, in the order the servers were given. */
  connections: number[];
  close(): void;
};

/**
 * A TCP proxy that hands each new connection to the next of `servers` in turn, as a Kubernetes
 * Service (kube-proxy) spreads connections over its endpoints: CloudNativePG's `<cluster>-ro`
 * over several standbys, say.
 */
export async function createRoundRobinProxy(servers: readonly PrivatePostgres[]): Promise<RoundRobinProxy> {
  const ports = servers.map((server) => Number(new URL(server.url).port));
  const connections = ports.map(() => 0);
  const sockets: Socket[] = [];
  let next = 0;
  const proxy = createServer((client) => {
    const index = next++ % ports.length;
    connections[index] = (connections[index] ?? 0) + 1;
    const upstream = connect(ports[index] ?? 0, "127.0.0.1");
    sockets.push(client, upstream);
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    connections,
    close() {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    },
  };
}

export type PrivateNatsServer = {
  url: string;
  /** Everything the server wrote to stdout/stderr, for failure messages. */
  readonly output: string;
  /** Rewrites the config with a new authorization block and reloads it (SIGHUP), as operators do. */
  reloadAuthorization(authorization: string): void;
  stop(): Promise<void>;
};

export async function startPrivateNatsServer(authorization: string): Promise<PrivateNatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "kasmap-nats-"));
  const port = await freePort();
  const configPath = join(dir, "nats.conf");
  const writeConfig = (block: string) =>
    writeFileSync(
      configPath,
      [
        `listen: 127.0.0.1:${port}`,
        "server_name: kasmap-private-test",
        `jetstream { store_dir: ${JSON.stringify(join(dir, "jetstream"))} }`,
        block,
      ].join("\n"),
    );
  writeConfig(authorization);
  let output = "";
  const child: ChildProcess = spawn(NATS_SERVER, ["-c", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    get output() {
      return output;
    },
    reloadAuthorization(block) {
      writeConfig(block);
      child.kill("SIGHUP");
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited(child);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
