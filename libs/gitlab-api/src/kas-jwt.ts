import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The JWT GitLab's KAS sends on GitLab's internal API (issue 9 item 5, the KAS-secret option), as
 * GitLab checks it: `lib/gitlab/kas.rb` in gitlabhq/gitlabhq reads it from the
 * `Gitlab-Kas-Api-Request` header (`INTERNAL_API_REQUEST_HEADER`) and decodes it with issuer
 * `gitlab-kas` (`JWT_ISSUER`) and audience `gitlab` (`JWT_AUDIENCE`); `lib/gitlab/jwt_authenticatable.rb`
 * verifies HS256 with the bytes of the secret file: `Base64.strict_decode64(File.read(path).chomp)`,
 * which must be 32 bytes (`SECRET_LENGTH`). Written with node:crypto: HS256 is one HMAC.
 */

export const KAS_API_REQUEST_HEADER = "Gitlab-Kas-Api-Request";
export const KAS_JWT_ISSUER = "gitlab-kas";
export const KAS_JWT_AUDIENCE = "gitlab";
/** GitLab refuses a secret file that does not decode to this many bytes. */
export const KAS_SECRET_BYTES = 32;
/** Lifetime of a JWT Kasmap signs, seconds: one request, retries included. */
export const KAS_JWT_LIFETIME_SECONDS = 30;

/**
 * The key in GitLab's KAS secret file (`gitlab_kas.secret_file`, e.g. `.gitlab_kas_secret`): the
 * file's text less one trailing newline, strict base64 of exactly 32 bytes; anything else throws
 * (the message never repeats the file's content).
 */
export function parseKasSecret(fileText: string): Buffer {
  const text = fileText.replace(/\r?\n$/, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new Error("the KAS secret file is not strict base64");
  }
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== KAS_SECRET_BYTES) {
    throw new Error(`the KAS secret file holds ${bytes.length} bytes, GitLab needs ${KAS_SECRET_BYTES}`);
  }
  return bytes;
}

export type KasJwtClaims = {
  iss: string;
  aud: string | string[];
  /** Seconds since the epoch. */
  iat: number;
  nbf?: number;
  exp: number;
};

/** An HS256 JWT as KAS sends it: `iss: "gitlab-kas"`, `aud: "gitlab"`, `iat`/`nbf` now, `exp` 30 s on. */
export function signKasJwt(secret: Buffer, nowMs = Date.now()): string {
  const now = Math.floor(nowMs / 1000);
  const claims: KasJwtClaims = {
    iss: KAS_JWT_ISSUER,
    aud: KAS_JWT_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + KAS_JWT_LIFETIME_SECONDS,
  };
  const signingInput = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${hmac(secret, signingInput)}`;
}

export type KasJwtVerdict = { ok: true; claims: KasJwtClaims } | { ok: false; reason: string };

/**
 * GitLab's side of the check (the simulator's internal API uses it): HS256 only, signature in
 * constant time, `iss` = `gitlab-kas`, `aud` names `gitlab`, `exp` in the future and `nbf`/`iat`
 * not in it (a few seconds of clock skew allowed, as the `jwt` gem's leeway would).
 */
export function verifyKasJwt(
  token: string,
  secret: Buffer,
  nowMs = Date.now(),
  leewaySeconds = 5,
): KasJwtVerdict {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "not a JWS compact serialisation" };
  const [header, payload, signature] = parts as [string, string, string];
  const parsedHeader = parseJsonSegment(header);
  if (parsedHeader === null || parsedHeader.alg !== "HS256")
    return { ok: false, reason: "algorithm is not HS256" };
  const expected = Buffer.from(hmac(secret, `${header}.${payload}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: "signature does not verify" };
  }
  const claims = parseJsonSegment(payload);
  if (claims === null) return { ok: false, reason: "claims are not JSON" };
  if (claims.iss !== KAS_JWT_ISSUER) return { ok: false, reason: "wrong issuer" };
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(KAS_JWT_AUDIENCE)) return { ok: false, reason: "wrong audience" };
  const now = nowMs / 1000;
  if (typeof claims.exp !== "number" || claims.exp + leewaySeconds <= now)
    return { ok: false, reason: "expired" };
  if (typeof claims.nbf === "number" && claims.nbf - leewaySeconds > now)
    return { ok: false, reason: "not yet valid" };
  if (typeof claims.iat !== "number" || claims.iat - leewaySeconds > now)
    return { ok: false, reason: "issued in the future" };
  return { ok: true, claims: claims as KasJwtClaims };
}

function hmac(secret: Buffer, input: string): string {
  return createHmac("sha256", secret).update(input).digest("base64url");
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function parseJsonSegment(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
