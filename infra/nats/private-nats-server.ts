import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Test-only: a nats-server of one test file's own, on a free port with a temporary JetStream
 * store, configured with a rendered `authorization` block. The shared server on 4222 runs
 * without auth; permissions can only be tested on a server whose config we write.
 */
export type PrivateNatsServer = {
  url: string;
  /** Everything the server wrote to stdout/stderr, for failure messages. */
  readonly output: string;
  /** Rewrites the config with a new authorization block and reloads it (SIGHUP), as operators do. */
  reloadAuthorization(authorization: string): void;
  stop(): Promise<void>;
};

const NATS_SERVER = process.env.KASMAP_NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

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
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
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
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port the OS just handed out and released; the server binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
