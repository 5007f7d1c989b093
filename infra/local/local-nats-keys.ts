import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nkeys } from "@nats-io/nats-core";

/**
 * The nkey users of `npm start`'s own nats-server, kept under `<state dir>/nats-keys/` (0700):
 * `authz.seed`, `projection.seed`, `gateway.seed` and `agent-<id>.seed`, each 0600. Generated on
 * first use and reused on later starts; the server config written beside them holds only the
 * public keys.
 */
export type StoredNkeyUser = { seed: string; publicKey: string; seedFile: string };

export function nkeysDir(stateDir: string): string {
  const dir = join(stateDir, "nats-keys");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode does not apply to a directory that already exists, nor past the umask.
  chmodSync(dir, 0o700);
  return dir;
}

/** The user stored as `<name>.seed`, created (mode 0600, never overwritten) when missing. */
export function loadOrCreateNkeyUser(dir: string, name: string): StoredNkeyUser {
  const seedFile = join(dir, `${name}.seed`);
  if (!existsSync(seedFile)) {
    const pair = nkeys.createUser();
    writeFileSync(seedFile, `${new TextDecoder().decode(pair.getSeed())}\n`, { mode: 0o600, flag: "wx" });
  }
  const seed = readFileSync(seedFile, "utf8").trim();
  const publicKey = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  return { seed, publicKey, seedFile };
}

/** The agents whose collector users are stored (`agent-<id>.seed`), with their public keys. */
export function storedAgentUsers(dir: string): Array<{ agentId: number; nkey: string }> {
  return readdirSync(dir)
    .map((file) => /^agent-([1-9][0-9]*)\.seed$/.exec(file)?.[1])
    .filter((id): id is string => id !== undefined)
    .map((id) => ({ agentId: Number(id), nkey: loadOrCreateNkeyUser(dir, `agent-${id}`).publicKey }));
}
