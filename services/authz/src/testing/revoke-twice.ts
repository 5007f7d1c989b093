import type { AuthzCommandRequest } from "@kasmap/contracts";
import { expect } from "vitest";
import type { AuthzTestEnvironment } from "./authz-test-environment.ts";

/**
 * Revokes an agent's token twice: both revokes answer `revoked` (GitLab answers 204 to an
 * already revoked token too), and the second publishes nothing new.
 */
export async function revokeTwice(
  env: AuthzTestEnvironment,
  name: "agent_token.revoke" | "collector_token.revoke",
  request: AuthzCommandRequest<"agent_token.revoke">,
): Promise<void> {
  const revoked = await env.command(name, request);
  expect(revoked.result.status).toBe("revoked");
  const again = await env.command(name, request);
  expect(again.result.status).toBe("revoked");
  expect(again.positions).toEqual([]);
}
