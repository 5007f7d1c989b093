import { readFileSync } from "node:fs";

/**
 * TLS files of a NATS client: the CA that signed the server's certificate (when it is not a
 * public CA) and, for servers that verify clients (`verify: true`), the client's certificate
 * and key. Paths, typically mounted from a Kubernetes Secret.
 */
export type NatsTls = { caFile?: string; certFile?: string; keyFile?: string };

/**
 * How a client proves who it is to NATS: an nkey seed (what Kasmap's rendered server configs
 * use), or a user and password; plus TLS. Nothing = an anonymous client.
 */
export type NatsClientAuth = {
  /** NATS nkey seed (`SU…`); the server config holds only its public key. Never log it. */
  nkeySeed?: string;
  user?: string;
  pass?: string;
  tls?: NatsTls;
};

/** The environment variables a NATS client reads its credentials and TLS files from. */
export type NatsAuthEnv = {
  NATS_NKEY_SEED?: string | undefined;
  /** Path of a file holding the seed (a mounted Secret); exclusive with NATS_NKEY_SEED. */
  NATS_NKEY_SEED_FILE?: string | undefined;
  NATS_USER?: string | undefined;
  NATS_PASSWORD?: string | undefined;
  NATS_TLS_CA_FILE?: string | undefined;
  NATS_TLS_CERT_FILE?: string | undefined;
  NATS_TLS_KEY_FILE?: string | undefined;
};

const USER_SEED = /^SU[A-Z2-7]{56}$/;

/**
 * Reads the client's NATS credentials from the environment. Errors name the variable, never
 * its value. At most one kind of credential: a seed and a password together are refused rather
 * than one silently winning.
 */
export function natsClientAuthFromEnv(env: NatsAuthEnv): NatsClientAuth {
  const nkeySeed = readNkeySeed(env.NATS_NKEY_SEED, env.NATS_NKEY_SEED_FILE);
  if (nkeySeed && env.NATS_USER) throw new Error("set an nkey seed or NATS_USER/NATS_PASSWORD, not both");
  if (env.NATS_PASSWORD && !env.NATS_USER) throw new Error("NATS_PASSWORD is set without NATS_USER");
  if (Boolean(env.NATS_TLS_CERT_FILE) !== Boolean(env.NATS_TLS_KEY_FILE)) {
    throw new Error("set NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE together");
  }
  const tls: NatsTls = {
    ...(env.NATS_TLS_CA_FILE ? { caFile: env.NATS_TLS_CA_FILE } : {}),
    ...(env.NATS_TLS_CERT_FILE ? { certFile: env.NATS_TLS_CERT_FILE } : {}),
    ...(env.NATS_TLS_KEY_FILE ? { keyFile: env.NATS_TLS_KEY_FILE } : {}),
  };
  return {
    ...(nkeySeed ? { nkeySeed } : {}),
    ...(env.NATS_USER ? { user: env.NATS_USER, pass: env.NATS_PASSWORD ?? "" } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}

/** The seed from the variable or the file (trailing newline trimmed), or null when neither is set. */
export function readNkeySeed(value: string | undefined, file: string | undefined): string | null {
  if (value && file) throw new Error("set NATS_NKEY_SEED or NATS_NKEY_SEED_FILE, not both");
  const seed = file ? readFileSync(file, "utf8").trim() : value?.trim();
  if (!seed) return null;
  if (!USER_SEED.test(seed)) {
    throw new Error(
      `${file ? "NATS_NKEY_SEED_FILE" : "NATS_NKEY_SEED"} does not hold a NATS user seed (SU…)`,
    );
  }
  return seed;
}
