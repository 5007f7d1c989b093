import { createHash, randomBytes } from "node:crypto";

/** Token prefixes as GitLab issues them. */
export const TOKEN_PREFIXES = {
  agent: "glagent-",
  personalAccess: "glpat-",
  ciJob: "glcbt-",
} as const;

/** SHA-256 hex digest: the only form in which a token is stored or put in an event. */
export function digestToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random token: prefix + 43 chars of base64url (256 bits of entropy). */
export function generateToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}
