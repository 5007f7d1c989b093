import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM files of one server: its certificate (signed by the throwaway CA) and its private key. */
export type CertificatePair = { certFile: string; keyFile: string };

export type ThrowawayCertificates = {
  /** The CA's certificate: clients trust it (`NATS_TLS_CA_FILE`), routes verify each other with it. */
  caFile: string;
  /** One pair per server name, in the order asked. */
  servers: CertificatePair[];
};

/** How long the throwaway certificates are valid, in days: a test run or a bench, never a deployment. */
const VALIDITY_DAYS = "2";
/** P-256 keys: as safe as RSA-2048 for this and generated in milliseconds on a loaded machine. */
const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * A throwaway CA and, signed by it, one certificate per server for 127.0.0.1 (and `localhost`),
 * written into `dir` with `openssl` (Debian's `openssl` package, 1.1.1 or 3.x). Each server
 * certificate carries both `serverAuth` and `clientAuth` usage: the same pair serves clients and
 * authenticates the node on its cluster routes, where each node is the other's TLS client
 * (mutual TLS, `verify: true`). The CA key stays in `dir`, which the caller deletes afterwards.
 */
export async function createThrowawayCertificates(
  dir: string,
  serverNames: readonly string[],
): Promise<ThrowawayCertificates> {
  const caFile = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  const caSubject = ["-subj", "/CN=Kasmap throwaway NATS CA"];
  await openssl([
    "req",
    "-x509",
    ...KEY,
    "-keyout",
    caKey,
    "-out",
    caFile,
    "-days",
    VALIDITY_DAYS,
    ...caSubject,
  ]);
  const extensions = join(dir, "server-extensions.cnf");
  writeFileSync(
    extensions,
    [
      "subjectAltName = IP:127.0.0.1, DNS:localhost",
      "extendedKeyUsage = serverAuth, clientAuth",
      "keyUsage = critical, digitalSignature, keyEncipherment",
      "basicConstraints = critical, CA:FALSE",
      "",
    ].join("\n"),
  );
  const servers: CertificatePair[] = [];
  for (const name of serverNames) {
    const keyFile = join(dir, `${name}.key`);
    const request = join(dir, `${name}.csr`);
    const certFile = join(dir, `${name}.crt`);
    await openssl(["req", ...KEY, "-keyout", keyFile, "-out", request, "-subj", `/CN=${name}`]);
    await openssl([
      "x509",
      "-req",
      "-in",
      request,
      "-CA",
      caFile,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-days",
      VALIDITY_DAYS,
      "-extfile",
      extensions,
      "-out",
      certFile,
    ]);
    servers.push({ certFile, keyFile });
  }
  return { caFile, servers };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed (is the openssl package installed?)`, { cause: error });
  }
}
