import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { natsClientAuthFromEnv } from "./nats-client-auth.ts";

const SEED = `SU${"A".repeat(56)}`;
const dir = mkdtempSync(join(tmpdir(), "kasmap-nats-auth-"));
const seedFile = join(dir, "seed");
writeFileSync(seedFile, `${SEED}\n`, { mode: 0o600 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("natsClientAuthFromEnv", () => {
  const read = [
    { from: "nothing (an anonymous client)", env: {}, auth: {} },
    { from: "NATS_NKEY_SEED", env: { NATS_NKEY_SEED: SEED }, auth: { nkeySeed: SEED } },
    {
      from: "NATS_NKEY_SEED_FILE (newline trimmed)",
      env: { NATS_NKEY_SEED_FILE: seedFile },
      auth: { nkeySeed: SEED },
    },
    {
      from: "NATS_USER and NATS_PASSWORD",
      env: { NATS_USER: "kasmap", NATS_PASSWORD: "pw" },
      auth: { user: "kasmap", pass: "pw" },
    },
    {
      from: "TLS files with a seed",
      env: {
        NATS_NKEY_SEED: SEED,
        NATS_TLS_CA_FILE: "/ca.crt",
        NATS_TLS_CERT_FILE: "/tls.crt",
        NATS_TLS_KEY_FILE: "/tls.key",
      },
      auth: { nkeySeed: SEED, tls: { caFile: "/ca.crt", certFile: "/tls.crt", keyFile: "/tls.key" } },
    },
  ];
  it.each(read)("reads $from", ({ env, auth }) => {
    expect(natsClientAuthFromEnv(env)).toEqual(auth);
  });

  const refused = [
    {
      why: "a seed and a seed file",
      env: { NATS_NKEY_SEED: SEED, NATS_NKEY_SEED_FILE: seedFile },
      message: /not both/,
    },
    { why: "a seed and a user", env: { NATS_NKEY_SEED: SEED, NATS_USER: "kasmap" }, message: /not both/ },
    { why: "a password without a user", env: { NATS_PASSWORD: "pw" }, message: /without NATS_USER/ },
    { why: "a public key instead of a seed", env: { NATS_NKEY_SEED: `U${"A".repeat(55)}` }, message: /SU…/ },
    {
      why: "a client certificate without its key",
      env: { NATS_TLS_CERT_FILE: "/tls.crt" },
      message: /together/,
    },
  ];
  it.each(refused)("refuses $why, without echoing a value", ({ env, message }) => {
    let thrown: unknown;
    try {
      natsClientAuthFromEnv(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain(SEED);
  });
});
