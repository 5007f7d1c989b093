import { parseArgs } from "node:util";
import { runService, UsageError } from "@kasmap/runtime";
import { renderAuthorization } from "../../infra/nats/render-authorization.ts";
import { parseProcessArgs } from "./parse-process-args.ts";

/**
 * `npx tsx cli/nats/render-authorization-cli.ts --authz U… --projection U… --gateway U… --sync U… --agent 42=U… [--agent 43=U…] [--root kasmap]`
 *
 * Prints the `authorization` block for the server config (public keys in, public keys out), to
 * include from nats-server's config and reload with `nats-server --signal reload`.
 */
const USAGE =
  "Usage: npx tsx cli/nats/render-authorization-cli.ts --authz <U…> --projection <U…> --gateway <U…> --sync <U…> [--agent <id>=<U…> …] [--root kasmap]";

function parseRenderArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      root: { type: "string", default: "kasmap" },
      authz: { type: "string" },
      projection: { type: "string" },
      gateway: { type: "string" },
      sync: { type: "string" },
      agent: { type: "string", multiple: true, default: [] },
    },
    strict: true,
  });
  const { authz, projection, gateway, sync } = values;
  if (!authz || !projection || !gateway || !sync) {
    throw new UsageError(
      "--authz, --projection, --gateway and --sync (each service's public key) are required",
    );
  }
  const agents = values.agent.map((pair) => {
    const [id, nkey] = pair.split("=");
    if (!id || !nkey) throw new UsageError(`--agent expects <id>=<public key>, got ${pair}`);
    return { agentId: Number(id), nkey };
  });
  return { topologyRoot: values.root, services: { authz, projection, gateway, sync }, agents };
}

await runService({
  name: "render-authorization",
  usage: USAGE,
  config: () => parseProcessArgs(parseRenderArgs),
  async run(input) {
    process.stdout.write(renderAuthorization(input));
    return undefined;
  },
});
