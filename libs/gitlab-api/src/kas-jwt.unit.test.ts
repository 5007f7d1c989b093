import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KAS_JWT_LIFETIME_SECONDS, parseKasSecret, signKasJwt, verifyKasJwt } from "./kas-jwt.ts";

const secret = randomBytes(32);
const now = Date.UTC(2026, 11, 1, 12, 0, 0);

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/** A token signed with `secret` over hand-made header and claims (for the refusals). */
function forge(header: object, claims: object, key = secret): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
}

describe("the KAS JWT", () => {
  it("carries GitLab's claims: iss gitlab-kas, aud gitlab, short-lived", () => {
    const token = signKasJwt(secret, now);
    const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8"));
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(claimsOf(token)).toEqual({
      iss: "gitlab-kas",
      aud: "gitlab",
      iat: now / 1000,
      nbf: now / 1000,
      exp: now / 1000 + KAS_JWT_LIFETIME_SECONDS,
    });
  });

  it("verifies with the same secret only", () => {
    const token = signKasJwt(secret, now);
    expect(verifyKasJwt(token, secret, now)).toMatchObject({ ok: true, claims: { iss: "gitlab-kas" } });
    expect(verifyKasJwt(token, randomBytes(32), now)).toEqual({
      ok: false,
      reason: "signature does not verify",
    });
    const [header, payload] = token.split(".");
    expect(verifyKasJwt(`${header}.${payload}.`, secret, now).ok).toBe(false);
  });

  it("expires", () => {
    const token = signKasJwt(secret, now);
    expect(verifyKasJwt(token, secret, now + (KAS_JWT_LIFETIME_SECONDS + 10) * 1000)).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  it.each([
    [
      "another issuer",
      { alg: "HS256" },
      { iss: "gitlab-workhorse", aud: "gitlab", iat: 0, exp: 9e9 },
      "wrong issuer",
    ],
    [
      "another audience",
      { alg: "HS256" },
      { iss: "gitlab-kas", aud: "kas", iat: 0, exp: 9e9 },
      "wrong audience",
    ],
    ["no expiry", { alg: "HS256" }, { iss: "gitlab-kas", aud: "gitlab", iat: 0 }, "expired"],
    [
      "alg none",
      { alg: "none" },
      { iss: "gitlab-kas", aud: "gitlab", iat: 0, exp: 9e9 },
      "algorithm is not HS256",
    ],
  ])("refuses %s", (_name, header, claims, reason) => {
    expect(verifyKasJwt(forge(header, claims), secret, now)).toEqual({ ok: false, reason });
  });
});

describe("GitLab's KAS secret file", () => {
  it("is strict base64 of 32 bytes, one trailing newline allowed", () => {
    const text = secret.toString("base64");
    expect(parseKasSecret(text).equals(secret)).toBe(true);
    expect(parseKasSecret(`${text}\n`).equals(secret)).toBe(true);
  });

  it("refuses other lengths and non-base64, without repeating the content", () => {
    expect(() => parseKasSecret(randomBytes(16).toString("base64"))).toThrow(
      /holds 16 bytes, GitLab needs 32/,
    );
    expect(() => parseKasSecret("not base64 at all!")).toThrow("the KAS secret file is not strict base64");
  });
});
