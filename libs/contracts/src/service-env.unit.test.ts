import { describe, expect, it } from "vitest";
import { AgentAuthorizationEnvSchema, CommonEnvSchema, parseEnv, topologyFromEnv } from "./service-env.ts";

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

describe("KASMAP_STREAM_REPLICAS", () => {
  it.each([
    [undefined, 1],
    ["1", 1],
    ["3", 3],
    ["5", 5],
  ])("%j → every declared stream with %i replicas", (value, expected) => {
    const env = parseEnv(CommonEnvSchema, value === undefined ? {} : { KASMAP_STREAM_REPLICAS: value });
    expect(env.KASMAP_STREAM_REPLICAS).toBe(expected);
    const replicas = topologyFromEnv(env).streams.map((stream) => stream.replicas);
    expect(replicas).toEqual(replicas.map(() => expected));
  });

  it.each(["2", "4", "7", "0", "three"])("refuses %j (JetStream: 1 to 5, odd for a majority)", (value) => {
    expect(() => parseEnv(CommonEnvSchema, { KASMAP_STREAM_REPLICAS: value })).toThrow(
      /KASMAP_STREAM_REPLICAS/,
    );
  });
});
