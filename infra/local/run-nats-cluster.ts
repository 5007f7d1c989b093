import { CommonEnvSchema, parseEnv } from "@kasmap/contracts";
import { runService } from "@kasmap/runtime";
import { SERVICE_IDENTITIES } from "../nats/render-authorization.ts";
import { type NatsCluster, startNatsCluster } from "./nats-cluster.ts";

/**
 * `npm run cluster`: a 3-node JetStream cluster on loopback (TLS, mutual-TLS routes, nkey users,
 * see nats-cluster.ts) in the foreground, until Ctrl-C (SIGINT) or SIGTERM, which stops the
 * nodes and deletes their temporary directory. Prints the URLs and, per service, the variables
 * that point it at the cluster (seed files, never seeds). `KASMAP_TOPOLOGY_ROOT` names the
 * subjects the permissions allow, as for the services.
 */
await runService({
  name: "nats-cluster",
  config: () => parseEnv(CommonEnvSchema.pick({ KASMAP_TOPOLOGY_ROOT: true, LOG_LEVEL: true })),
  async run(env, logger) {
    const cluster = await startNatsCluster({ topologyRoot: env.KASMAP_TOPOLOGY_ROOT });
    process.stdout.write(clusterBanner(cluster));
    logger.info({ dir: cluster.dir }, "NATS cluster running; Ctrl-C stops it and deletes its directory");
    return { stop: () => cluster.stop() };
  },
});

function clusterBanner(cluster: NatsCluster): string {
  const lines = [
    "Kasmap NATS cluster (3 JetStream nodes on 127.0.0.1, TLS, nkey users):",
    ...cluster.nodes.map((node) => `  ${node.name}  ${node.url}  monitoring ${node.monitorUrl}`),
    "",
    "Point a service at it (streams with 3 replicas):",
    `  NATS_URL=${cluster.url}`,
    `  NATS_TLS_CA_FILE=${cluster.caFile}`,
    "  KASMAP_STREAM_REPLICAS=3",
    ...SERVICE_IDENTITIES.map(
      (identity) => `  NATS_NKEY_SEED_FILE=${cluster.services[identity].seedFile}   (${identity})`,
    ),
    "Agents' collector users: add them with startNatsCluster().agentUser(id) (infra/local/nats-cluster.ts).",
    "",
  ];
  return `${lines.join("\n")}\n`;
}
