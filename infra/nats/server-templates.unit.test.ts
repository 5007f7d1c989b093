import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { renderClusterNodeConfig } from "./render-cluster-node-config.ts";

/**
 * The server configurations Kasmap ships (infra/nats/*.conf and the Kubernetes manifest) require
 * authentication and TLS and do not listen on every interface unless a deployment says so
 * (issue 7, item 5): a NATS that anyone on the network can join lets them forge events and read
 * agent tokens.
 */
const read = (path: string) => readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), "utf8");

/** The config without comments, so a commented-out example cannot satisfy or fail a check. */
const uncommented = (text: string) =>
  text
    .split("\n")
    .map((line) => line.replace(/#.*$/, ""))
    .join("\n");

/** Every `listen:` / `http:` / `https:` address in the config (client, cluster, monitoring). */
function listenAddresses(config: string): string[] {
  return [...uncommented(config).matchAll(/^\s*(?:listen|http|https|port)\s*[:=]\s*"?([^\s"]+)"?/gm)].map(
    (match) => match[1] ?? "",
  );
}

function kubernetesNatsConfig(): string {
  const documents = parseAllDocuments(read("kubernetes/nats.yaml")).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
  const configMap = documents.find(
    (d) => d.kind === "ConfigMap" && (d.metadata as { name?: string })?.name === "kasmap-nats-config",
  );
  const data = (configMap?.data ?? {}) as Record<string, string>;
  expect(data["nats.conf"], "ConfigMap kasmap-nats-config with nats.conf").toBeDefined();
  return data["nats.conf"] ?? "";
}

const CLUSTER_TEMPLATES = [
  "nats/cluster-node-1.conf",
  "nats/cluster-node-2.conf",
  "nats/cluster-node-3.conf",
];

/** What `npm run cluster` and the failover test run (infra/local/nats-cluster.ts renders it). */
const renderedClusterNode = () =>
  renderClusterNodeConfig({
    serverName: "kasmap-nats-2",
    clusterName: "kasmap",
    clientPort: 40002,
    routePort: 40012,
    monitorPort: 40022,
    routePorts: [40011, 40012, 40013],
    storeDir: "/tmp/kasmap-nats-cluster-x/kasmap-nats-2",
    tls: {
      certFile: "/tmp/x/kasmap-nats-2.crt",
      keyFile: "/tmp/x/kasmap-nats-2.key",
      caFile: "/tmp/x/ca.crt",
    },
    authorizationInclude: "./per-agent-permissions.conf",
    tlsTimeoutSeconds: 10,
  });

/** Each server config Kasmap ships or renders, by name, with its text. */
const SERVER_CONFIGS: Array<[string, () => string]> = [
  ...["nats/single-node.conf", ...CLUSTER_TEMPLATES].map((path): [string, () => string] => [
    path,
    () => read(path),
  ]),
  ["renderClusterNodeConfig", renderedClusterNode],
];
const CLUSTER_CONFIGS = SERVER_CONFIGS.filter(([name]) => name !== "nats/single-node.conf");

describe.each(SERVER_CONFIGS)("%s", (_name, text) => {
  const config = () => uncommented(text());

  it("listens on loopback only", () => {
    const addresses = listenAddresses(text());
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses)
      expect(address, `listen address ${address}`).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("requires nkey authentication, with no user for anonymous clients", () => {
    expect(config()).toMatch(/^\s*include\s+"?\.\/per-agent-permissions\.conf"?/m);
    expect(config()).not.toMatch(/no_auth_user/);
  });

  it("requires TLS for clients", () => {
    expect(config()).toMatch(/^tls\s*\{[^}]*cert_file[^}]*key_file/m);
  });
});

describe.each(CLUSTER_CONFIGS)("%s", (_name, text) => {
  const cluster = () => /cluster\s*\{([\s\S]*)\}/.exec(uncommented(text()))?.[1] ?? "";

  it("admits only routes with a certificate from the cluster's CA (mutual TLS)", () => {
    expect(cluster()).toMatch(/tls\s*\{[^}]*ca_file[^}]*verify:\s*true/);
  });

  it("routes to three nodes, its own among them", () => {
    const routes = [...cluster().matchAll(/nats-route:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
    const own = /^\s*listen:\s*127\.0\.0\.1:(\d+)/m.exec(cluster())?.[1];
    expect(routes).toHaveLength(3);
    expect(routes).toContain(own);
  });
});

describe("the cluster templates", () => {
  it("differ only in the node's name, ports and store", () => {
    const [first, ...others] = CLUSTER_TEMPLATES.map((path) =>
      uncommented(read(path))
        .replace(/kasmap-nats-\d/g, "kasmap-nats-N")
        .replace(/127\.0\.0\.1:(422|622|822)\d/g, "PORT"),
    );
    for (const other of others) expect(other).toBe(first);
  });
});

describe("per-agent-permissions.conf", () => {
  it("holds public keys only, every user with a permissions block", () => {
    const config = uncommented(read("nats/per-agent-permissions.conf"));
    expect(config).not.toMatch(/password|SU[A-Z2-7]{56}|no_auth_user/);
    const users = config.match(/nkey:/g)?.length ?? 0;
    expect(users).toBeGreaterThan(0);
    expect(config.match(/permissions:/g)?.length).toBe(users);
  });
});

describe("infra/kubernetes/nats.yaml", () => {
  it("requires TLS with the certificate from a Secret, and nkey authentication", () => {
    const config = uncommented(kubernetesNatsConfig());
    expect(config).toMatch(/^tls\s*\{[^}]*cert_file:\s*"?\/etc\/nats\/tls\/tls\.crt/m);
    expect(config).toMatch(/^\s*include\s+"?\.\/authorization\.conf"?/m);
    expect(config).not.toMatch(/no_auth_user/);
    const manifest = read("kubernetes/nats.yaml");
    expect(manifest).toMatch(/secretName:\s*kasmap-nats-tls/);
  });

  it("keeps the monitoring endpoint on loopback", () => {
    expect(uncommented(kubernetesNatsConfig())).toMatch(/^http:\s*"?127\.0\.0\.1:8222/m);
  });
});
