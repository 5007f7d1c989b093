import { createConnection } from "node:net";
import { removeLeftovers, startLeftoverRegistry } from "./test-leftovers.ts";

/**
 * Resolves the NATS (JetStream on) and PostgreSQL servers for the integration project, once:
 * 1. NATS_URL / DATABASE_URL from the environment;
 * 2. else containers via testcontainers, when a Docker engine answers;
 * 3. else the servers on the local default ports (127.0.0.1:4222, 127.0.0.1:5432), if they answer.
 * With none of these the run fails here, loudly — integration tests never skip.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  if (!process.env.NATS_URL) {
    process.env.NATS_URL = await resolveNats(cleanups);
  }
  if (!process.env.DATABASE_URL) {
    process.env.DATABASE_URL = await resolvePostgres(cleanups);
  }
  const leftovers = startLeftoverRegistry();
  const natsUrl = process.env.NATS_URL;
  const databaseUrl = process.env.DATABASE_URL;
  return async () => {
    await removeLeftovers(natsUrl, databaseUrl, leftovers).catch((error: unknown) => {
      process.stderr.write(`could not remove test leftovers: ${String(error)}\n`);
    });
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
}

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function resolveNats(cleanups: Array<() => Promise<void>>): Promise<string> {
  if (await dockerAvailable()) {
    const { GenericContainer, Wait } = await import("testcontainers");
    const container = await new GenericContainer("nats:2.10")
      .withCommand(["-js"])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start();
    cleanups.push(async () => void (await container.stop()));
    return `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
  }
  if (await portAnswers("127.0.0.1", 4222)) return "nats://127.0.0.1:4222";
  throw new Error(
    "Integration tests need NATS with JetStream: set NATS_URL, run a Docker engine, or start `nats-server -js` on 127.0.0.1:4222",
  );
}

async function resolvePostgres(cleanups: Array<() => Promise<void>>): Promise<string> {
  if (await dockerAvailable()) {
    const { GenericContainer, Wait } = await import("testcontainers");
    const container = await new GenericContainer("postgres:16")
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    cleanups.push(async () => void (await container.stop()));
    return `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
  }
  if (await portAnswers("127.0.0.1", 5432)) return "postgres://postgres@127.0.0.1:5432/postgres";
  throw new Error(
    "Integration tests need PostgreSQL: set DATABASE_URL, run a Docker engine, or start PostgreSQL on 127.0.0.1:5432",
  );
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}
