import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestToken } from "./tokens.ts";

describe("digestToken", () => {
  it.each([["glpat-0123456789abcdefghij"], [""], ["ünïcödé-токен-🔑"], ["x".repeat(10_000)]])(
    "is the SHA-256 hex digest of the UTF-8 bytes of %j",
    (token) => {
      expect(digestToken(token)).toBe(createHash("sha256").update(Buffer.from(token, "utf8")).digest("hex"));
    },
  );

  it("matches a known vector", () => {
    expect(digestToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
