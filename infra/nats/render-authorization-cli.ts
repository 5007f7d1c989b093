import { parseArgs } from "node:util";
import { renderAuthorization } from "./render-authorization.ts";

/**
 * `npx tsx infra/nats/render-authorization-cli.ts --services U… --agent 42=U… [--agent 43=U…] [--root kasmap]`
 *
 * Prints the `authorization` block for the server config (public keys in, public keys out), to
 * include from nats-server's config and reload with `nats-server --signal reload`.
 */
const USAGE =
  "Usage: npx tsx infra/nats/render-authorization-cli.ts --services <U…> --agent <id>=<U…> [--agent …] [--root kasmap]";

function main(): void {
  const { values } = parseArgs({
    options: {
      root: { type: "string", default: "kasmap" },
      services: { type: "string" },
      agent: { type: "string", multiple: true, default: [] },
    },
    strict: true,
  });
  if (!values.services) throw new Error("--services <public key> is required");
  const agents = values.agent.map((pair) => {
    const [id, nkey] = pair.split("=");
    if (!id || !nkey) throw new Error(`--agent expects <id>=<public key>, got ${pair}`);
    return { agentId: Number(id), nkey };
  });
  process.stdout.write(
    renderAuthorization({ topologyRoot: values.root, services: { nkey: values.services }, agents }),
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
