import type { AuthzDb } from "../store/schema.ts";

/** The stored row of one agent or collector token, as authz wrote it (digest, kind, status…). */
export function agentTokenRow(db: AuthzDb, tokenId: number) {
  return db.selectFrom("authz.agent_tokens").selectAll().where("id", "=", tokenId).executeTakeFirstOrThrow();
}
