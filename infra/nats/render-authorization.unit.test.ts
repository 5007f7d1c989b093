import { createTopology } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { agentPermissions, renderAuthorization } from "./render-authorization.ts";

// Fixed public keys (valid shape; no seed needed to render a config).
const SERVICES = `U${"A".repeat(55)}`;
const AGENT_42 = `U${"B".repeat(55)}`;
const AGENT_43 = `U${"C".repeat(55)}`;

describe("agentPermissions", () => {
  const cases = [
    {
      root: "kasmap",
      agentId: 42,
      nkey: AGENT_42,
      publish: [
        "kasmap.cluster.42.snapshot",
        "kasmap.cluster.42.heartbeat",
        "kasmap.cmd.authz.agent_token.authenticate",
        "$JS.API.INFO",
        "$JS.API.DIRECT.GET.KASMAP_CLUSTER.kasmap.cluster.42.snapshot",
      ],
      subscribe: [`_INBOX.${AGENT_42}.>`],
    },
    {
      root: "t0a1b2c3d4e",
      agentId: 7,
      nkey: AGENT_43,
      publish: [
        "t0a1b2c3d4e.cluster.7.snapshot",
        "t0a1b2c3d4e.cluster.7.heartbeat",
        "t0a1b2c3d4e.cmd.authz.agent_token.authenticate",
        "$JS.API.INFO",
        "$JS.API.DIRECT.GET.T0A1B2C3D4E_CLUSTER.t0a1b2c3d4e.cluster.7.snapshot",
      ],
      subscribe: [`_INBOX.${AGENT_43}.>`],
    },
  ];
  it.each(cases)("root $root, agent $agentId", ({ root, agentId, nkey, publish, subscribe }) => {
    expect(agentPermissions(createTopology(root), agentId, nkey)).toEqual({ publish, subscribe });
  });

  it("grants no wildcard publish and no stream-wide read", () => {
    const { publish } = agentPermissions(createTopology("kasmap"), 42, AGENT_42);
    expect(publish.filter((s) => s.includes("*") || s.includes(">"))).toEqual([]);
    expect(publish.filter((s) => s.includes("STREAM.MSG.GET"))).toEqual([]);
  });
});

describe("renderAuthorization", () => {
  it("renders the services user without permissions and each agent with its own, sorted by agent", () => {
    const text = renderAuthorization({
      topologyRoot: "kasmap",
      services: { nkey: SERVICES },
      agents: [
        { agentId: 43, nkey: AGENT_43 },
        { agentId: 42, nkey: AGENT_42 },
      ],
    });
    expect(text).toBe(
      [
        "authorization {",
        "  users: [",
        "    # Kasmap services (authz, projection, gateway): full rights.",
        `    { nkey: "${SERVICES}" }`,
        "    # Agent 42's collector: its own subjects only.",
        "    {",
        `      nkey: "${AGENT_42}"`,
        "      permissions: {",
        `        publish: { allow: ["kasmap.cluster.42.snapshot", "kasmap.cluster.42.heartbeat", "kasmap.cmd.authz.agent_token.authenticate", "$JS.API.INFO", "$JS.API.DIRECT.GET.KASMAP_CLUSTER.kasmap.cluster.42.snapshot"] }`,
        `        subscribe: { allow: ["_INBOX.${AGENT_42}.>"] }`,
        "      }",
        "    }",
        "    # Agent 43's collector: its own subjects only.",
        "    {",
        `      nkey: "${AGENT_43}"`,
        "      permissions: {",
        `        publish: { allow: ["kasmap.cluster.43.snapshot", "kasmap.cluster.43.heartbeat", "kasmap.cmd.authz.agent_token.authenticate", "$JS.API.INFO", "$JS.API.DIRECT.GET.KASMAP_CLUSTER.kasmap.cluster.43.snapshot"] }`,
        `        subscribe: { allow: ["_INBOX.${AGENT_43}.>"] }`,
        "      }",
        "    }",
        "  ]",
        "}",
        "",
      ].join("\n"),
    );
  });

  const refused = [
    { why: "a seed instead of a public key", services: `SU${"A".repeat(56)}`, agents: [] },
    { why: "a key used twice", services: SERVICES, agents: [{ agentId: 42, nkey: SERVICES }] },
    {
      why: "an agent listed twice",
      services: SERVICES,
      agents: [
        { agentId: 42, nkey: AGENT_42 },
        { agentId: 42, nkey: AGENT_43 },
      ],
    },
    {
      why: "an agent id that is not a positive integer",
      services: SERVICES,
      agents: [{ agentId: 0, nkey: AGENT_42 }],
    },
  ];
  it.each(refused)("refuses $why", ({ services, agents }) => {
    expect(() =>
      renderAuthorization({ topologyRoot: "kasmap", services: { nkey: services }, agents }),
    ).toThrow(RangeError);
  });
});
