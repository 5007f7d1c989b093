/**
 * One node of a JetStream cluster, as infra/nats/cluster-node-*.conf lay it out: clients on TLS
 * with nkey users (the rendered `authorization` block, included from a file beside the config),
 * routes with mutual TLS (only a holder of a certificate from the cluster's CA joins), and every
 * address on loopback. Ports are TCP ports on 127.0.0.1.
 */
export type ClusterNodeConfigInput = {
  /** `server_name`, unique in the cluster; JetStream names peers by it. */
  serverName: string;
  clusterName: string;
  clientPort: number;
  routePort: number;
  /** Monitoring (`/jsz`, `/healthz`), unauthenticated: loopback only. */
  monitorPort: number;
  /** Every node's route port, this node's included (the server skips its own). */
  routePorts: readonly number[];
  storeDir: string;
  tls: { certFile: string; keyFile: string; caFile: string };
  /** Path of the `authorization { … }` file, relative to the config (`include` is). */
  authorizationInclude: string;
  /**
   * Seconds a TLS handshake may take. The templates say 2; a throwaway cluster on a loaded test
   * machine gets more, so a slow handshake is not mistaken for a dead peer.
   */
  tlsTimeoutSeconds: number;
};

/** The nats-server (2.9+) config text of one cluster node. Pure. */
export function renderClusterNodeConfig(input: ClusterNodeConfigInput): string {
  const q = (value: string) => JSON.stringify(value);
  const tlsFiles = [`cert_file: ${q(input.tls.certFile)}`, `key_file: ${q(input.tls.keyFile)}`];
  return [
    `server_name: ${input.serverName}`,
    `listen: 127.0.0.1:${input.clientPort}`,
    `http: 127.0.0.1:${input.monitorPort}`,
    `jetstream { store_dir: ${q(input.storeDir)} }`,
    "max_payload: 1MB",
    "tls {",
    ...tlsFiles.map((line) => `  ${line}`),
    `  timeout: ${input.tlsTimeoutSeconds}`,
    "}",
    `include ${q(input.authorizationInclude)}`,
    "cluster {",
    `  name: ${input.clusterName}`,
    `  listen: 127.0.0.1:${input.routePort}`,
    "  tls {",
    ...tlsFiles.map((line) => `    ${line}`),
    `    ca_file: ${q(input.tls.caFile)}`,
    "    verify: true",
    `    timeout: ${input.tlsTimeoutSeconds}`,
    "  }",
    "  routes: [",
    ...input.routePorts.map((port) => `    nats-route://127.0.0.1:${port}`),
    "  ]",
    "}",
    "",
  ].join("\n");
}
