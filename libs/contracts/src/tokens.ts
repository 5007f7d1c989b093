import * as crypto from "node:crypto";
import type { AgentTokenKind } from "./registry.ts";

/**
 * Token prefixes: GitLab's as GitLab issues them, and Kasmap's own collector token (`kmcol-`,
 * never `glagent-`: GitLab's prefix would let a scanner or a reader take it for GitLab's).
 */
export const TOKEN_PREFIXES = {
  agent: "glagent-",
  personalAccess: "glpat-",
  ciJob: "glcbt-",
  collector: "kmcol-",
} as const;

/**
 * Which kind of agent credential a presented token claims to be, by its prefix; null for any
 * other text (refused without a database lookup). The prefix only picks the kind the digest
 * must match: a `glagent-` text never opens a collector token's row, nor `kmcol-` an agent token's.
 */
export function agentTokenKindOf(token: string): AgentTokenKind | null {
  if (token.startsWith(TOKEN_PREFIXES.agent)) return "agent";
  if (token.startsWith(TOKEN_PREFIXES.collector)) return "collector";
  return null;
}

/**
 * `crypto.hash` (Node ≥ 20.12): the same digest as `createHash`, several times cheaper for a
 * short input (no Hash object) — the gateway digests the credential of every request. Absent on
 * Node 20.11, which `engines` still allows.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

/** SHA-256 hex digest (of the UTF-8 bytes): the only form in which a token is stored or put in an event. */
export function digestToken(token: string): string {
  if (oneShotHash !== undefined) return oneShotHash("sha256", token, "hex");
  return crypto.createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random token: prefix + 43 chars of base64url (256 bits of entropy). */
export function generateToken(prefix: string): string {
  return `${prefix}${crypto.randomBytes(32).toString("base64url")}`;
}

/**
 * The personal access token scopes GitLab knows (`Gitlab::Auth.all_available_scopes`). Kasmap's
 * API honours `api` (everything) and `read_api` (GET and HEAD only), plus `read_user` on
 * `GET /api/v4/user`; the others are accepted on creation, as GitLab does, and open nothing here.
 */
export const PERSONAL_ACCESS_TOKEN_SCOPES = [
  "api",
  "read_api",
  "read_user",
  "create_runner",
  "manage_runner",
  "k8s_proxy",
  "read_repository",
  "write_repository",
  "read_registry",
  "write_registry",
  "read_virtual_registry",
  "write_virtual_registry",
  "read_observability",
  "write_observability",
  "ai_features",
  "sudo",
  "admin_mode",
  "read_service_ping",
  "self_rotate",
] as const;
export type PersonalAccessTokenScope = (typeof PERSONAL_ACCESS_TOKEN_SCOPES)[number];

/** Whether `value` names a scope in `PERSONAL_ACCESS_TOKEN_SCOPES`. */
export function isPersonalAccessTokenScope(value: string): value is PersonalAccessTokenScope {
  return (PERSONAL_ACCESS_TOKEN_SCOPES as readonly string[]).includes(value);
}
