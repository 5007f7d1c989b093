import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCollectorConfig } from "./config.ts";

// A syntactically valid user seed (SU + 56 base32 characters); never used to connect.
const SEED = `SU${"A".repeat(56)}`;
const dir = mkdtempSync(join(tmpdir(), "kasmap-collector-config-"));
const seedFile = join(dir, "seed");
writeFileSync(seedFile, `${SEED}\n`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = { KASMAP_AGENT_TOKEN: "glagent-test" };

describe("collector nkey seed", () => {
  const accepted = [
    { from: "no seed", env: {}, seed: null },
    { from: "NATS_NKEY_SEED", env: { NATS_NKEY_SEED: SEED }, seed: SEED },
    {
      from: "NATS_NKEY_SEED_FILE (trailing newline trimmed)",
      env: { NATS_NKEY_SEED_FILE: seedFile },
      seed: SEED,
    },
  ];
  it.each(accepted)("reads $from", ({ env, seed }) => {
    expect(parseCollectorConfig([], { ...base, ...env }).nkeySeed).toBe(seed);
  });

  const refused = [
    {
      why: "both sources",
      env: { NATS_NKEY_SEED: SEED, NATS_NKEY_SEED_FILE: seedFile },
      message: /not both/,
    },
    { why: "a public key instead of a seed", env: { NATS_NKEY_SEED: `U${"A".repeat(55)}` }, message: /SU…/ },
    { why: "an account seed", env: { NATS_NKEY_SEED: `SA${"A".repeat(56)}` }, message: /SU…/ },
  ];
  it.each(refused)("refuses $why without echoing the value", ({ env, message }) => {
    let caught: unknown;
    try {
      parseCollectorConfig([], { ...base, ...env });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain("AAAAAAAA");
  });
});

describe("collector downward-API environment", () => {
  it.each([
    {
      from: "a pod with POD_NAME and NODE_NAME",
      env: { POD_NAME: "kasmap-collector-7d9f-abcde", NODE_NAME: "node-1", KASMAP_COMMIT: "0123abc" },
      expected: {
        podName: "kasmap-collector-7d9f-abcde",
        nodeName: "node-1",
        inKubernetes: true,
        commit: "0123abc",
      },
    },
    {
      from: "a pod without the downward API (KUBERNETES_SERVICE_HOST only)",
      env: { KUBERNETES_SERVICE_HOST: "10.96.0.1" },
      expected: { podName: null, nodeName: null, inKubernetes: true, commit: null },
    },
    {
      from: "an image built without the KASMAP_COMMIT build argument (empty = unset)",
      env: { POD_NAME: "kasmap-collector-7d9f-abcde", KASMAP_COMMIT: "" },
      expected: { podName: "kasmap-collector-7d9f-abcde", inKubernetes: true, commit: null },
    },
    {
      from: "outside Kubernetes",
      env: {},
      expected: { podName: null, nodeName: null, inKubernetes: false, commit: null },
    },
  ])("reads $from", ({ env, expected }) => {
    expect(parseCollectorConfig([], { ...base, ...env })).toMatchObject(expected);
  });

  it("refuses a POD_NAME longer than a DNS subdomain (253 characters)", () => {
    expect(() => parseCollectorConfig([], { ...base, POD_NAME: "a".repeat(254) })).toThrow(/POD_NAME/);
  });
});
