import { describe, expect, it } from "vitest";
import { AuthzEnvSchema } from "./authz-env.ts";

const BASE = { NATS_URL: "nats://127.0.0.1:4222", DATABASE_URL: "postgres://localhost/kasmap" };

describe("KASMAP_AUTHZ_OUTBOX_RETENTION_SECONDS", () => {
  it("defaults to an hour", () => {
    expect(AuthzEnvSchema.parse(BASE).KASMAP_AUTHZ_OUTBOX_RETENTION_SECONDS).toBe(3600);
  });

  it.each([
    ["600", true],
    ["2592000", true],
    ["599", false],
    ["2592001", false],
    ["1.5", false],
  ])("%s is accepted: %s", (value, accepted) => {
    const parsed = AuthzEnvSchema.safeParse({ ...BASE, KASMAP_AUTHZ_OUTBOX_RETENTION_SECONDS: value });
    expect(parsed.success).toBe(accepted);
  });
});
