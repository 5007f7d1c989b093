import { parseArgs } from "node:util";
import { renderAuthorization } from "./render-authorization.ts";

/**
 * `npx tsx infra/nats/render-authorization-cli.ts --authz U… --projection U… --gateway U… --agent 42=U… [--agent 43=U…] [--root kasmap]`
 *
 * Prints the `authorization` block for the server config (public keys in, public keys out), to
 * include from nats-server's config and reload with `nats-server --signal reload`.
 */
const USAGE =
  "Usage: npx tsx infra/nats/render-authorization-cli.ts --authz <U…> --projection <U…> --gateway <U…> [--agent <id>=<U…> …] [--root kasmap]";

function main(): void {
  const { values } = parseArgs({
    options: {
      root: { type: "string", default: "kasmap" },
      authz: { type: "string" },
      projection: { type: "string" },
      gateway: { type: "string" },
      agent: { type: "string", multiple: true, default: [] },
    },
    strict: true,
  });
  const { authz, projection, gateway } = values;
  if (!authz || !projection || !gateway) {
    throw new Error("--authz, --projection and --gateway (each service's public key) are required");
  }
  const agents = values.agent.map((pair) => {
    const [id, nkey] = pair.split("=");
    if (!id || !nkey) throw new Error(`--agent expects <id>=<public key>, got ${pair}`);
    return { agentId: Number(id), nkey };
  });
  process.stdout.write(
    renderAuthorization({ topologyRoot: values.root, services: { authz, projection, gateway }, agents }),
  );
}

try {
  main();
} catch (error) {
  process.stderr.write(
    `render-authorization: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`,
  );
  process.exit(2);
}
