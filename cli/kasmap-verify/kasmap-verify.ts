import { unreportedVerification, verifyClusterInfo } from "@kasmap/cluster-info";
import {
  StoredClusterFactsSchema,
  type VerificationResult,
  VerificationResultSchema,
} from "@kasmap/contracts";
import { z } from "zod";
import { renderVerificationTable } from "./verification-table.ts";
import { type AgentRef, parseVerifyArgs, UsageError, type VerifyCommand } from "./verify-cli-args.ts";

/**
 * `kasmap-verify`: a CI job's check that its target cluster is the expected one, as a client of
 * the Kasmap gateway. With `KASMAP_TOKEN` it asks the gateway's verify route; with only
 * `CI_JOB_TOKEN` it reads the job's `GET /api/v4/job/allowed_agents?with_cluster_info=true` and
 * verifies locally with the same pure `verifyClusterInfo`. Exit codes: 0 match, 1 mismatch,
 * 2 usage, network or server error (a CI job must not read "could not check" as "mismatch").
 */
export const EXIT_CODES = { ok: 0, mismatch: 1, error: 2 } as const;

export type CliIo = { out(text: string): void; err(text: string): void };
type Env = Record<string, string | undefined>;
type Credential = { header: "PRIVATE-TOKEN" | "JOB-TOKEN"; token: string };

/** An answer the CLI cannot use (HTTP error, unexpected body); exit code 2. */
class GatewayError extends Error {
  override readonly name = "GatewayError";
}

export async function runVerifyCli(argv: readonly string[], env: Env, io: CliIo): Promise<number> {
  try {
    const command = parseVerifyArgs(argv);
    const baseUrl = (env.KASMAP_URL ?? "").replace(/\/+$/, "");
    if (baseUrl === "")
      throw new UsageError("KASMAP_URL is not set (the Kasmap gateway, e.g. https://kasmap.example.com)");
    const credential = credentialOf(env);
    const result = await verify(baseUrl, credential, command);
    io.out(
      command.json
        ? JSON.stringify(result, null, 2)
        : renderVerificationTable(result, agentLabel(command.agent)),
    );
    return result.ok ? EXIT_CODES.ok : EXIT_CODES.mismatch;
  } catch (error) {
    const known = error instanceof UsageError || error instanceof GatewayError;
    const message = error instanceof Error ? error.message : String(error);
    io.err(`kasmap-verify: ${known ? message : `cannot reach the gateway: ${message}`}`);
    return EXIT_CODES.error;
  }
}

/** `KASMAP_TOKEN` wins over `CI_JOB_TOKEN`: a job that sets it asked for the personal token's view. */
function credentialOf(env: Env): Credential {
  if (env.KASMAP_TOKEN) return { header: "PRIVATE-TOKEN", token: env.KASMAP_TOKEN };
  if (env.CI_JOB_TOKEN) return { header: "JOB-TOKEN", token: env.CI_JOB_TOKEN };
  throw new UsageError("set KASMAP_TOKEN (a personal access token) or run in a CI job (CI_JOB_TOKEN)");
}

function agentLabel(agent: AgentRef): string {
  if (agent.kind === "id") return `agent ${agent.id}`;
  return agent.kind === "in-project"
    ? `${agent.projectPath}:${agent.name}`
    : `${agent.projectPath}:${agent.id}`;
}

async function verify(
  baseUrl: string,
  credential: Credential,
  command: VerifyCommand,
): Promise<VerificationResult> {
  if (credential.header === "JOB-TOKEN") return verifyAsJob(baseUrl, credential, command);
  const { agent } = command;
  if (agent.kind === "id") {
    throw new UsageError(
      "with KASMAP_TOKEN, name the agent with its project: --agent group/project:agent-name",
    );
  }
  const project = encodeURIComponent(agent.projectPath);
  const agentId =
    agent.kind === "id-in-project" ? agent.id : await agentIdByName(baseUrl, credential, project, agent.name);
  const body = await request(
    baseUrl,
    credential,
    `/projects/${project}/cluster_agents/${agentId}/cluster_info/verify`,
    {
      method: "POST",
      body: JSON.stringify(command.expectations),
    },
  );
  return parseBody(VerificationResultSchema, body, "the verify answer");
}

const AgentListSchema = z.array(z.object({ id: z.number(), name: z.string() }));

async function agentIdByName(
  baseUrl: string,
  credential: Credential,
  project: string,
  name: string,
): Promise<number> {
  for (let page = 1; page <= 100; page++) {
    const body = await request(
      baseUrl,
      credential,
      `/projects/${project}/cluster_agents?per_page=100&page=${page}`,
    );
    const agents = parseBody(AgentListSchema, body, "the agent list");
    const found = agents.find((a) => a.name === name);
    if (found) return found.id;
    if (agents.length < 100) break;
  }
  throw new GatewayError(`no agent named ${name} in ${decodeURIComponent(project)} (or no access to it)`);
}

/** Lenient on purpose: a client reads the keys it needs and ignores what newer gateways add. */
const AllowedAgentsSchema = z.object({
  allowed_agents: z.array(
    z.object({
      id: z.number(),
      config_project: z.object({ path_with_namespace: z.string() }),
      cluster_info: z.unknown().optional(),
    }),
  ),
});

async function verifyAsJob(
  baseUrl: string,
  credential: Credential,
  command: VerifyCommand,
): Promise<VerificationResult> {
  const { agent } = command;
  if (agent.kind === "in-project") {
    // GitLab's allowed_agents entries carry ids, not names.
    throw new UsageError(
      "with CI_JOB_TOKEN, name the agent by id: --agent <id> or --agent group/project:<id>",
    );
  }
  const body = await request(baseUrl, credential, "/job/allowed_agents?with_cluster_info=true");
  const allowed = parseBody(AllowedAgentsSchema, body, "the job's allowed agents").allowed_agents;
  const entry = allowed.find(
    (a) =>
      a.id === agent.id &&
      (agent.kind === "id" ||
        a.config_project.path_with_namespace.toLowerCase() === agent.projectPath.toLowerCase()),
  );
  if (!entry) throw new GatewayError(`agent ${agent.id} is not among this job's allowed agents`);
  if (entry.cluster_info === undefined)
    throw new GatewayError("the gateway sent no cluster_info for the agent");
  if (entry.cluster_info === null) return unreportedVerification(command.expectations);
  return verifyClusterInfo(
    // As the gateway may serve it: rows stored before a limit of the contract still answer.
    parseBody(StoredClusterFactsSchema, entry.cluster_info, "cluster_info"),
    command.expectations,
  );
}

async function request(
  baseUrl: string,
  credential: Credential,
  path: string,
  init: RequestInit = {},
): Promise<unknown> {
  const headers = {
    [credential.header]: credential.token,
    accept: "application/json",
    "content-type": "application/json",
  };
  const response = await fetch(`${baseUrl}/api/v4${path}`, {
    ...init,
    headers,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok)
    throw new GatewayError(
      `${init.method ?? "GET"} /api/v4${path} answered ${response.status}: ${text.slice(0, 500)}`,
    );
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GatewayError(`${init.method ?? "GET"} /api/v4${path} answered non-JSON`);
  }
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new GatewayError(`unexpected shape of ${what}: ${parsed.error.issues[0]?.message ?? ""}`);
  return parsed.data;
}
