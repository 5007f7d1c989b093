import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync } from "node:fs";
import type { Logger } from "@kasmap/logging";
import { connect } from "@nats-io/transport-node";

const CANDIDATES = [
  "nats-server",
  "/usr/sbin/nats-server",
  "/usr/local/bin/nats-server",
  "/usr/bin/nats-server",
];

async function answers(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, timeout: 1500, maxReconnectAttempts: 0 });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

function findNatsServer(): string | null {
  for (const candidate of CANDIDATES) {
    if (candidate.includes("/") ? existsSync(candidate) : whichSync(candidate)) return candidate;
  }
  return null;
}

function whichSync(binary: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(`${dir}/${binary}`));
}

/**
 * Returns a NATS URL that answers. With `NATS_URL` unset and nothing on 127.0.0.1:4222, starts
 * `nats-server -js` from PATH with its store under `.kasmap/nats`; without one, stops with a
 * one-line message that says how to install it.
 */
export async function ensureNats(
  configuredUrl: string | undefined,
  stateDir: string,
  logger: Logger,
  defaultPort = 4222,
): Promise<{ url: string; stop(): Promise<void> }> {
  const url = configuredUrl ?? `nats://127.0.0.1:${defaultPort}`;
  if (await answers(url)) return { url, stop: async () => {} };
  if (configuredUrl) throw new Error(`NATS_URL=${configuredUrl} does not answer`);
  const binary = findNatsServer();
  if (!binary) {
    throw new Error(
      `No NATS server answers on 127.0.0.1:${defaultPort} and nats-server is not installed: apt-get install nats-server (Debian/Ubuntu) or see https://docs.nats.io/running-a-nats-service/introduction/installation`,
    );
  }
  const storeDir = `${stateDir}/nats`;
  mkdirSync(storeDir, { recursive: true });
  const logFile = openSync(`${stateDir}/nats-server.log`, "a");
  const child = spawn(binary, ["-js", "-a", "127.0.0.1", "-p", String(defaultPort), "-sd", storeDir], {
    stdio: ["ignore", logFile, logFile],
  });
  logger.info({ binary, storeDir }, "started nats-server with JetStream");
  for (let i = 0; i < 50; i++) {
    if (await answers(url)) {
      return {
        url,
        async stop() {
          child.kill("SIGTERM");
        },
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  throw new Error(`nats-server did not start; see ${stateDir}/nats-server.log`);
}
