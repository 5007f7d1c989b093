import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runService, UsageError } from "@kasmap/runtime";
import { nkeys } from "@nats-io/nats-core";
import { SERVICE_IDENTITIES, type ServiceIdentity } from "../../infra/nats/render-authorization.ts";
import { parseProcessArgs } from "./parse-process-args.ts";

/**
 * `npx tsx cli/nats/agent-nkey.ts --agent 42 [--seed-file PATH]`
 * `npx tsx cli/nats/agent-nkey.ts --service authz|projection|gateway|sync [--seed-file PATH]` (`sync`:
 * the GitLab sync service)
 *
 * Creates an nkey user for one agent's collector, or for one service. The public key (`U…`) goes into the server
 * config (`renderAuthorization`); the seed (`SU…`) is the collector's secret, given to it as
 * `NATS_NKEY_SEED` or as the file named by `NATS_NKEY_SEED_FILE` (a mounted Kubernetes Secret).
 * With `--seed-file` the seed is written there (mode 0600) instead of to stdout, so it never
 * passes through a terminal or a shell history.
 */
const USAGE = `Usage: npx tsx cli/nats/agent-nkey.ts (--agent <id> | --service ${SERVICE_IDENTITIES.join("|")}) [--seed-file PATH]`;

const isService = (value: string | undefined): value is ServiceIdentity =>
  (SERVICE_IDENTITIES as readonly string[]).includes(value ?? "");

type NkeyCommand = { service: ServiceIdentity | undefined; agentId: number; seedFile: string | undefined };

function parseNkeyArgs(argv: string[]): NkeyCommand {
  const { values } = parseArgs({
    args: argv,
    options: { agent: { type: "string" }, service: { type: "string" }, "seed-file": { type: "string" } },
    strict: true,
  });
  const agentId = Number(values.agent);
  const service = values.service;
  const valid =
    service !== undefined
      ? isService(service) && values.agent === undefined
      : Number.isSafeInteger(agentId) && agentId > 0;
  if (!valid)
    throw new UsageError(
      `give --service ${SERVICE_IDENTITIES.join("|")}, or --agent with a positive integer`,
    );
  return { service: service as ServiceIdentity | undefined, agentId, seedFile: values["seed-file"] };
}

function createNkeyUser({ service, agentId, seedFile }: NkeyCommand): void {
  const who = service ? `The ${service} service` : `Agent ${agentId}`;
  const entry = service ? `--${service} …` : `--agent ${agentId}=…`;
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const lines = [
    `# ${who}: public key, for the server config (render-authorization-cli.ts ${entry})`,
    `public_key=${user.getPublicKey()}`,
  ];
  if (seedFile) {
    // `wx`: never overwrite an existing seed; a lost seed is replaced by a new key pair, not in place.
    writeFileSync(seedFile, `${seed}\n`, { mode: 0o600, flag: "wx" });
    lines.push(`# Seed written to ${seedFile}: the client's secret; never put it in a config file`);
  } else {
    lines.push("# Seed: the client's secret (NATS_NKEY_SEED). Store it in a Secret, never in a config file.");
    lines.push(`seed=${seed}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await runService({
  name: "agent-nkey",
  usage: USAGE,
  config: () => parseProcessArgs(parseNkeyArgs),
  async run(command) {
    createNkeyUser(command);
    return undefined;
  },
});
