import { parseEnv } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { GatewayEnvSchema, gatewayOptionsFromEnv } from "./gateway-env.ts";

describe("gatewayOptionsFromEnv", () => {
  it("is standalone without KASMAP_GITLAB_URL (an empty value too)", () => {
    expect(gatewayOptionsFromEnv(parseEnv(GatewayEnvSchema, {})).gitlab).toBeUndefined();
    expect(
      gatewayOptionsFromEnv(parseEnv(GatewayEnvSchema, { KASMAP_GITLAB_URL: " " })).gitlab,
    ).toBeUndefined();
  });

  it("switches GitLab mode on with KASMAP_GITLAB_URL, with the permission TTL, timeout and external URL", () => {
    const env = parseEnv(GatewayEnvSchema, {
      KASMAP_GITLAB_URL: "https://gitlab.example.com/",
      KASMAP_EXTERNAL_URL: "https://kasmap.example.com/",
    });
    expect(gatewayOptionsFromEnv(env).gitlab).toEqual({
      url: "https://gitlab.example.com",
      permissionTtlSeconds: 60,
      timeoutMs: 10_000,
      externalUrl: "https://kasmap.example.com",
    });
    const tuned = parseEnv(GatewayEnvSchema, {
      KASMAP_GITLAB_URL: "http://gitlab.internal:8080",
      KASMAP_GITLAB_PERMISSION_TTL_SECONDS: "5",
      KASMAP_GITLAB_TIMEOUT_MS: "2500",
    });
    expect(gatewayOptionsFromEnv(tuned).gitlab).toEqual({
      url: "http://gitlab.internal:8080",
      permissionTtlSeconds: 5,
      timeoutMs: 2_500,
    });
  });

  it("refuses a GitLab or external URL that is not http(s), naming the variable", () => {
    expect(() => parseEnv(GatewayEnvSchema, { KASMAP_GITLAB_URL: "ftp://gitlab" })).toThrow(
      /KASMAP_GITLAB_URL/,
    );
    expect(() => parseEnv(GatewayEnvSchema, { KASMAP_EXTERNAL_URL: "kasmap" })).toThrow(
      /KASMAP_EXTERNAL_URL/,
    );
  });
});
