import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import { createTestTopology, eventually } from "@kasmap/testing/harness";
import { freePort, startPrivateNatsServer } from "@kasmap/testing/private-servers";
import { AuthorizationError, nkeys } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { renderAuthorization } from "../nats/render-authorization.ts";
import { ensureNats } from "./ensure-nats.ts";
import { probeStartNats } from "./nats-connection-probe.ts";

/**
 * `npm start`'s NATS: with nothing listening it starts `nats-server -js` from PATH with nkey
 * authentication (keys generated under the state dir); pointed at a server that lets anyone in,
 * it says so loudly. Exercised on free ports and private servers, so the machine's own NATS
 * (anonymous, used by the rest of the suite) is left alone.
 */
const stateDir = mkdtempSync(join(tmpdir(), "kasmap-nats-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
const topology = createTestTopology();
const silent = createLogger("test", "silent");

/** What a client without credentials gets: "connected", or the error it was refused with. */
async function anonymousConnection(url: string): Promise<unknown> {
  try {
    const nc = await connect({ servers: url, timeout: 3_000, maxReconnectAttempts: 0 });
    await nc.close();
    return "connected";
  } catch (error) {
    return error;
  }
}

/** A private server of this file's own, once it answers (allowing or refusing anonymous clients). */
async function startedServer(authorization: string) {
  const server = await startPrivateNatsServer(authorization);
  await eventually(
    async () => ((await probeStartNats(server.url, {})) === "unreachable" ? undefined : true),
    `the private nats-server to answer\n${server.output}`,
  );
  return server;
}

/** A logger whose warn-level lines land in `lines` as parsed JSON. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe("npm start's own nats-server", () => {
  it("refuses anonymous clients and accepts the generated service and collector seeds", async () => {
    const port = await freePort();
    const nats = await ensureNats({
      stateDir,
      logger: silent,
      port,
      topologyRoot: topology.root,
      credentials: {},
    });
    const buses: Bus[] = [];
    try {
      expect(nats.url).toBe(`nats://127.0.0.1:${port}`);
      expect(await anonymousConnection(nats.url)).toBeInstanceOf(AuthorizationError);
      expect(nats.anonymousAccessWarning).toBeNull();

      for (const identity of ["authz", "projection", "gateway", "sync"] as const) {
        const seedFile = join(stateDir, "nats-keys", `${identity}.seed`);
        expect(statSync(seedFile).mode & 0o777, `${identity}.seed mode`).toBe(0o600);
        expect(nats.serviceAuth[identity].nkeySeed).toBe(readFileSync(seedFile, "utf8").trim());
      }
      const authz = await connectBus({ url: nats.url, name: "authz", topology, ...nats.serviceAuth.authz });
      buses.push(authz);
      await ensureStreams(authz);

      const collectorEnv = await nats.collectorEnv(7);
      expect(collectorEnv.NATS_NKEY_SEED).toBeUndefined();
      const agentSeedFile = collectorEnv.NATS_NKEY_SEED_FILE ?? "";
      expect(statSync(agentSeedFile).mode & 0o777).toBe(0o600);
      const agent = await connectBus({
        url: nats.url,
        name: "agent-7",
        topology,
        nkeySeed: readFileSync(agentSeedFile, "utf8"),
      });
      buses.push(agent);
      const ack = await agent.js.publish(
        topology.subjects.clusterSnapshot(7),
        new TextEncoder().encode("{}"),
      );
      expect(ack.stream).toBe(topology.streamNames.cluster);
    } finally {
      for (const bus of buses) await bus.close();
      await nats.stop();
    }
  });

  it("refuses a configured NATS_URL that does not answer, naming it", async () => {
    await expect(ensureExistingNats("nats://127.0.0.1:1", silent, {})).rejects.toThrow(
      /NATS_URL=nats:\/\/127.0.0.1:1 does not answer/,
    );
  });
});

type EnsureNatsOptions = Parameters<typeof ensureNats>[0];

/** `ensureNats` pointed at the server at `url` (NATS_URL), in this file's state and topology. */
function ensureExistingNats(
  url: string,
  logger: EnsureNatsOptions["logger"],
  credentials: EnsureNatsOptions["credentials"],
) {
  return ensureNats({ configuredUrl: url, stateDir, logger, topologyRoot: topology.root, credentials });
}

describe("an existing server given by NATS_URL", () => {
  it("is used, with a warning in the log and for readiness, when it accepts anonymous clients", async () => {
    const server = await startedServer("");
    const { logger, lines } = capturingLogger();
    try {
      const nats = await ensureExistingNats(server.url, logger, {});
      expect(nats.url).toBe(server.url);
      expect(nats.anonymousAccessWarning).toMatch(/accepts clients without credentials/);
      const warnings = lines.filter((line) => line.level === 40);
      expect(warnings.map((line) => line.msg)).toContain(nats.anonymousAccessWarning);
      await nats.stop();
    } finally {
      await server.stop();
    }
  });

  it("is used with the credentials given, without a warning, when it requires them", async () => {
    const services = Object.fromEntries(
      (["authz", "projection", "gateway", "sync"] as const).map((identity) => {
        const pair = nkeys.createUser();
        return [identity, { seed: new TextDecoder().decode(pair.getSeed()), nkey: pair.getPublicKey() }];
      }),
    ) as Record<"authz" | "projection" | "gateway" | "sync", { seed: string; nkey: string }>;
    const server = await startedServer(
      renderAuthorization({
        topologyRoot: topology.root,
        services: {
          authz: services.authz.nkey,
          projection: services.projection.nkey,
          gateway: services.gateway.nkey,
          sync: services.sync.nkey,
        },
        agents: [],
      }),
    );
    const { logger, lines } = capturingLogger();
    try {
      const nats = await ensureExistingNats(server.url, logger, { nkeySeed: services.authz.seed });
      expect(nats.anonymousAccessWarning).toBeNull();
      expect(lines.filter((line) => line.level === 40)).toEqual([]);
      expect(nats.serviceAuth.authz.nkeySeed).toBe(services.authz.seed);
      await nats.stop();
    } finally {
      await server.stop();
    }
  });

  it("names the server when it refuses the credentials given", async () => {
    const server = await startedServer(
      renderAuthorization({
        topologyRoot: topology.root,
        services: {
          authz: nkeys.createUser().getPublicKey(),
          projection: nkeys.createUser().getPublicKey(),
          gateway: nkeys.createUser().getPublicKey(),
          sync: nkeys.createUser().getPublicKey(),
        },
        agents: [],
      }),
    );
    try {
      const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
      await expect(ensureExistingNats(server.url, silent, { nkeySeed: stranger })).rejects.toThrow(
        new RegExp(`NATS_URL=${server.url} refused the credentials`),
      );
    } finally {
      await server.stop();
    }
  });
});
