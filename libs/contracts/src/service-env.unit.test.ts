import { describe, expect, it } from "vitest";
import { AgentAuthorizationEnvSchema, parseEnv } from "./service-env.ts";

describe("KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS", () => {
  it.each([
    [undefined, true],
    ["", true],
    ["true", true],
    ["1", true],
    ["FALSE", false],
    ["0", false],
  ])("%j → includeDescendants %s", (value, expected) => {
    const env = value === undefined ? {} : { KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS: value };
    expect(parseEnv(AgentAuthorizationEnvSchema, env).KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS).toBe(
      expected,
    );
  });

  it("refuses anything else rather than guessing", () => {
    expect(() =>
      parseEnv(AgentAuthorizationEnvSchema, { KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS: "yes" }),
    ).toThrow(/KASMAP_AGENT_AUTHORIZATION_INCLUDE_DESCENDANTS/);
  });
});
