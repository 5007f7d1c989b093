import { createTopology, EVENT_TYPES } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import {
  agentPermissions,
  renderAuthorization,
  SERVICE_IDENTITIES,
  type SubjectPermissions,
  servicePermissions,
} from "./render-authorization.ts";
import { mayPublish } from "./testing/publish-targets.ts";

// Fixed public keys (valid shape; no seed needed to render a config).
const AUTHZ = `U${"A".repeat(55)}`;
const AGENT_42 = `U${"B".repeat(55)}`;
const AGENT_43 = `U${"C".repeat(55)}`;
const PROJECTION = `U${"D".repeat(55)}`;
const GATEWAY = `U${"E".repeat(55)}`;
const SYNC = `U${"F".repeat(55)}`;
const SERVICES = { authz: AUTHZ, projection: PROJECTION, gateway: GATEWAY, sync: SYNC };
/** What only the GitLab sync may send: commands that write the registry without an actor. */
const MIRROR_COMMANDS = "kasmap.cmd.authz.mirror.>";
const SYNC_PUBLISH = [
  MIRROR_COMMANDS,
  "kasmap.dlq.KASMAP_GITLAB_INBOX",
  "$JS.API.INFO",
  "$JS.API.STREAM.INFO.KASMAP_GITLAB_INBOX",
  "$JS.API.CONSUMER.CREATE.KASMAP_GITLAB_INBOX",
  "$JS.API.CONSUMER.CREATE.KASMAP_GITLAB_INBOX.>",
  "$JS.API.CONSUMER.DURABLE.CREATE.KASMAP_GITLAB_INBOX.>",
  "$JS.API.CONSUMER.INFO.KASMAP_GITLAB_INBOX.>",
  "$JS.API.CONSUMER.MSG.NEXT.KASMAP_GITLAB_INBOX.>",
  "$JS.ACK.KASMAP_GITLAB_INBOX.>",
];
const STREAM_ADMINISTRATION = [
  "$JS.API.STREAM.CREATE.>",
  "$JS.API.STREAM.UPDATE.>",
  "$JS.API.STREAM.DELETE.>",
  "$JS.API.STREAM.PURGE.>",
  "$JS.API.STREAM.MSG.DELETE.>",
  "$JS.API.STREAM.RESTORE.>",
  "$JS.API.STREAM.PEER.>",
  "$JS.API.STREAM.LEADER.>",
  "$JS.API.META.>",
  "$JS.API.SERVER.>",
];

/** Written out here, not imported: the test states what no identity may do to the audit log. */
const HISTORY_ERASURE = ["$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>"];

describe("servicePermissions", () => {
  const topology = createTopology("kasmap");
  it("lets only authz receive commands, and answer them, and erase no history", () => {
    expect(servicePermissions(topology, "authz", AUTHZ)).toEqual({
      publish: ["kasmap.authz.>", "kasmap.registry.>", "$JS.API.>"],
      publishDeny: HISTORY_ERASURE,
      subscribe: ["kasmap.cmd.authz.>", `_INBOX.${AUTHZ}.>`],
      allowResponses: true,
    });
  });

  it("lets the projection read the streams but not declare, purge or capture subjects into them", () => {
    expect(servicePermissions(topology, "projection", PROJECTION)).toEqual({
      publish: ["kasmap.dlq.>", "kasmap.readmodel.changed.>", "kasmap.alerts.>", "$JS.API.>"],
      publishDeny: STREAM_ADMINISTRATION,
      subscribe: [`_INBOX.${PROJECTION}.>`],
    });
  });

  it("lets only the projection publish alerts (issue 11): no other service, no collector", () => {
    const alert = topology.subjects.alert(EVENT_TYPES.alertClusterChanged, 42);
    const mayPublishAlert = (permissions: SubjectPermissions) => mayPublish(permissions, alert);
    expect(
      Object.fromEntries(
        SERVICE_IDENTITIES.map((identity) => [
          identity,
          mayPublishAlert(servicePermissions(topology, identity, SERVICES[identity])),
        ]),
      ),
    ).toEqual({ authz: false, projection: true, gateway: false, sync: false });
    expect(mayPublishAlert(agentPermissions(topology, 42, AGENT_42))).toBe(false);
  });

  it("lets the gateway send commands but not mirror.*, store GitLab's hooks and ask sync its status", () => {
    expect(servicePermissions(topology, "gateway", GATEWAY)).toEqual({
      publish: [
        "kasmap.cmd.authz.>",
        "kasmap.gitlab.inbox.>",
        "kasmap.cmd.sync.status",
        "kasmap.gateway.live_tickets.redeem",
        "$JS.API.>",
      ],
      publishDeny: [...STREAM_ADMINISTRATION, MIRROR_COMMANDS],
      subscribe: ["kasmap.readmodel.changed.>", "kasmap.gateway.live_tickets.redeem", `_INBOX.${GATEWAY}.>`],
      allowResponses: true,
    });
  });

  it("lets sync send only mirror.* commands, consume only the GitLab inbox stream and answer cmd.sync", () => {
    expect(servicePermissions(topology, "sync", SYNC)).toEqual({
      publish: SYNC_PUBLISH,
      subscribe: ["kasmap.cmd.sync.>", `_INBOX.${SYNC}.>`],
      allowResponses: true,
    });
  });

  it("gives sync no JetStream API call on another stream and no other authz command", () => {
    const { publish } = servicePermissions(topology, "sync", SYNC);
    const api = publish.filter((s) => s.startsWith("$JS.API.") && s !== "$JS.API.INFO");
    expect(api.every((s) => s.includes(".KASMAP_GITLAB_INBOX"))).toBe(true);
    expect(publish.filter((s) => s.startsWith("kasmap.cmd."))).toEqual([MIRROR_COMMANDS]);
  });
});

/** `<root>.cluster.<id>.heartbeat.0` … `.f`: the subjects of an agent's collector replicas. */
const bucketSubjects = (root: string, id: number) =>
  [..."0123456789abcdef"].map((digit) => `${root}.cluster.${id}.heartbeat.${digit}`);

describe("agentPermissions", () => {
  const cases = [
    {
      root: "kasmap",
      agentId: 42,
      nkey: AGENT_42,
      publish: [
        "kasmap.cluster.42.snapshot",
        "kasmap.cluster.42.heartbeat",
        ...bucketSubjects("kasmap", 42),
        `kasmap.cmd.authz.agent_token.authenticate.${AGENT_42}`,
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
        ...bucketSubjects("t0a1b2c3d4e", 7),
        `t0a1b2c3d4e.cmd.authz.agent_token.authenticate.${AGENT_43}`,
        "$JS.API.INFO",
        "$JS.API.DIRECT.GET.T0A1B2C3D4E_CLUSTER.t0a1b2c3d4e.cluster.7.snapshot",
      ],
      subscribe: [`_INBOX.${AGENT_43}.>`],
    },
  ];
  it.each(cases)("root $root, agent $agentId", ({ root, agentId, nkey, publish, subscribe }) => {
    expect(agentPermissions(createTopology(root), agentId, nkey)).toEqual({ publish, subscribe });
  });

  it("grants no wildcard publish (16 heartbeat subjects, not `heartbeat.*`), and no stream-wide read", () => {
    const { publish } = agentPermissions(createTopology("kasmap"), 42, AGENT_42);
    expect(publish.filter((s) => s.includes("*") || s.includes(">"))).toEqual([]);
    expect(publish.filter((s) => s.startsWith("kasmap.cluster.42.heartbeat."))).toHaveLength(16);
    expect(publish.filter((s) => s.includes("STREAM.MSG.GET"))).toEqual([]);
  });
});

describe("renderAuthorization", () => {
  /** The user block of agent `id`'s collector, as the server config must read. */
  const agentUserLines = (id: number, nkey: string) => [
    `    # Agent ${id}'s collector: its own subjects only.`,
    "    {",
    `      nkey: "${nkey}"`,
    "      permissions: {",
    `        publish: { allow: ["kasmap.cluster.${id}.snapshot", "kasmap.cluster.${id}.heartbeat", ${bucketSubjects(
      "kasmap",
      id,
    )
      .map((subject) => `"${subject}"`)
      .join(
        ", ",
      )}, "kasmap.cmd.authz.agent_token.authenticate.${nkey}", "$JS.API.INFO", "$JS.API.DIRECT.GET.KASMAP_CLUSTER.kasmap.cluster.${id}.snapshot"] }`,
    `        subscribe: { allow: ["_INBOX.${nkey}.>"] }`,
    "      }",
    "    }",
  ];

  it("renders each service's user and each agent's, sorted by agent", () => {
    const text = renderAuthorization({
      topologyRoot: "kasmap",
      services: SERVICES,
      agents: [
        { agentId: 43, nkey: AGENT_43 },
        { agentId: 42, nkey: AGENT_42 },
      ],
    });
    expect(text).toBe(
      [
        "authorization {",
        "  users: [",
        "    # Kasmap authz: the only receiver of commands (agent tokens arrive here); answers them.",
        "    {",
        `      nkey: "${AUTHZ}"`,
        "      permissions: {",
        `        publish: { allow: ["kasmap.authz.>", "kasmap.registry.>", "$JS.API.>"], deny: [${HISTORY_ERASURE.map((s) => `"${s}"`).join(", ")}] }`,
        `        subscribe: { allow: ["kasmap.cmd.authz.>", "_INBOX.${AUTHZ}.>"] }`,
        "        allow_responses: true",
        "      }",
        "    }",
        "    # Kasmap projection: reads the streams; dead letters, change notices and alerts.",
        "    {",
        `      nkey: "${PROJECTION}"`,
        "      permissions: {",
        `        publish: { allow: ["kasmap.dlq.>", "kasmap.readmodel.changed.>", "kasmap.alerts.>", "$JS.API.>"], deny: [${STREAM_ADMINISTRATION.map((s) => `"${s}"`).join(", ")}] }`,
        `        subscribe: { allow: ["_INBOX.${PROJECTION}.>"] }`,
        "      }",
        "    }",
        "    # Kasmap gateway: sends commands (never mirror.*), reads the streams and change notices.",
        "    {",
        `      nkey: "${GATEWAY}"`,
        "      permissions: {",
        `        publish: { allow: ["kasmap.cmd.authz.>", "kasmap.gitlab.inbox.>", "kasmap.cmd.sync.status", "kasmap.gateway.live_tickets.redeem", "$JS.API.>"], deny: [${[...STREAM_ADMINISTRATION, MIRROR_COMMANDS].map((s) => `"${s}"`).join(", ")}] }`,
        `        subscribe: { allow: ["kasmap.readmodel.changed.>", "kasmap.gateway.live_tickets.redeem", "_INBOX.${GATEWAY}.>"] }`,
        "        allow_responses: true",
        "      }",
        "    }",
        "    # Kasmap GitLab sync: mirror.* commands only; reads the GitLab inbox stream; answers cmd.sync.",
        "    {",
        `      nkey: "${SYNC}"`,
        "      permissions: {",
        `        publish: { allow: [${SYNC_PUBLISH.map((s) => `"${s}"`).join(", ")}] }`,
        `        subscribe: { allow: ["kasmap.cmd.sync.>", "_INBOX.${SYNC}.>"] }`,
        "        allow_responses: true",
        "      }",
        "    }",
        ...agentUserLines(42, AGENT_42),
        ...agentUserLines(43, AGENT_43),
        "  ]",
        "}",
        "",
      ].join("\n"),
    );
  });

  const refused = [
    {
      why: "a seed instead of a public key",
      services: { ...SERVICES, authz: `SU${"A".repeat(56)}` },
      agents: [],
    },
    { why: "a key used twice by an agent", services: SERVICES, agents: [{ agentId: 42, nkey: AUTHZ }] },
    { why: "a key used twice by services", services: { ...SERVICES, gateway: PROJECTION }, agents: [] },
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
    expect(() => renderAuthorization({ topologyRoot: "kasmap", services, agents })).toThrow(RangeError);
  });
});
