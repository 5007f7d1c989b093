import { invalidExpectedRanges, unreportedVerification, verifyClusterInfo } from "@kasmap/cluster-info";
import {
  type ClusterExpectations,
  ClusterExpectationsSchema,
  type VerificationResult,
} from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { checkParams, invalidParams, mergedParams } from "../http/request-params.ts";
import { agentIdParam, cachedClusterFacts, readableAgent } from "./agent-lookup.ts";
import type { AgentParams } from "./route-params.ts";

/**
 * `POST /api/v4/projects/:id/cluster_agents/:agent_id/cluster_info/verify` (Kasmap extension,
 * Developer+, else 404): checks the agent's latest facts against the expectations in the body
 * and answers `200 {ok, expected, checks}` — a mismatch is data, not an error, so a client reads
 * one shape. The answer is O(reported + expected): each expected list appears once, in `expected`.
 * A cluster that has not reported yet answers `ok: false` with the reason on every check.
 */
export function registerClusterVerificationRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post<AgentParams>(
    "/api/v4/projects/:id/cluster_agents/:agent_id/cluster_info/verify",
    async (request): Promise<VerificationResult> => {
      const user = await userOf(ctx, request);
      const [agentId, expectations] = checkParams(
        () => agentIdParam(request.params.agent_id),
        () => parseExpectations(mergedParams({}, request.body)),
      );
      const { agent } = await readableAgent(ctx, user, request.params.id, agentId);
      const cached = await cachedClusterFacts(ctx, agent.id);
      return cached === null
        ? unreportedVerification(expectations)
        : verifyClusterInfo(cached.facts, expectations);
    },
  );
}

/**
 * The body as expectations, or Grape-style `400 {"error": …}` naming each problem: an unknown
 * key (a typo must not silently skip a check), a malformed value, a range that does not parse,
 * or no expectation at all.
 */
export function parseExpectations(body: unknown): ClusterExpectations {
  const result = ClusterExpectationsSchema.safeParse(body);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      if (issue.code === "unrecognized_keys") return `${issue.keys.join(", ")} is not a known expectation`;
      if (issue.path.length === 0) return issue.message;
      const path = issue.path.join(".");
      // The caps (MAX_EXPECTED_RANGES ranges, MAX_EXPECTED_TEXT_LENGTH characters) are named.
      if (issue.code === "too_big" && issue.origin === "array") return `${path} ${issue.message}`;
      if (issue.code === "too_big" && issue.origin === "string") {
        return `${path} is too long (maximum is ${issue.maximum} characters)`;
      }
      return `${path} is invalid`;
    });
    throw invalidParams([...new Set(problems)]);
  }
  const invalid = invalidExpectedRanges(result.data);
  if (invalid.length > 0) throw invalidParams(invalid.map((p) => `${p} is not an IP address or CIDR`));
  return result.data;
}
