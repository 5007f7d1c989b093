import { inboxPrefixForNkey } from "@kasmap/bus";
import { createTopology, type Topology } from "@kasmap/contracts";

/**
 * Renders the `authorization { users: [...] }` block of a nats-server config (2.9+) in which
 * every client authenticates with an nkey: one user per service (authz, projection, gateway),
 * each allowed only what it does, and one user per agent whose collector may publish only on
 * its own agent's subjects. Pure: the same input gives the same text; no secret goes in, none
 * comes out (the config holds public keys, `U…`; each client keeps its seed, `SU…`).
 *
 * Secrets on the bus: agent tokens travel in `<root>.cmd.authz.agent_token.authenticate`
 * requests and token plaintexts in authz's replies to `…token.create`. Only authz may subscribe
 * to `<root>.cmd.authz.>`; every identity subscribes only to its own reply inbox
 * (`_INBOX.<its public key>.>`), and authz answers through `allow_responses` rather than a
 * right to publish into inboxes.
 */
export const SERVICE_IDENTITIES = ["authz", "projection", "gateway", "sync"] as const;
export type ServiceIdentity = (typeof SERVICE_IDENTITIES)[number];

export type AuthorizationInput = {
  topologyRoot: string;
  /** Public key (`U…`) of each service's user. */
  services: Readonly<Record<ServiceIdentity, string>>;
  agents: ReadonlyArray<{ agentId: number; nkey: string }>;
};

export type SubjectPermissions = {
  publish: string[];
  /** Publishes refused even where `publish` allows them. */
  publishDeny?: string[];
  subscribe: string[];
  /** May answer the requests it received (and only those), whatever their reply subject. */
  allowResponses?: boolean;
};

const JS_API = "$JS.API";

/**
 * JetStream API calls that create, change or erase streams and their contents, or administer the
 * cluster. Only authz declares the streams (`ensureStreams`); the projection and the gateway only
 * read them. Refusing stream creation also keeps them from capturing a core subject they may not
 * subscribe to (a stream on `<root>.cmd.authz.>` would store every agent token sent to authz), and
 * refusing purge and delete keeps the audit log from being rewritten.
 */
/**
 * Calls that erase history: denied to every identity, authz included, so the audit log cannot be
 * rewritten with any service's credentials. Retention (max age) is the server's to apply; an
 * operator who must erase does it with the server's own system account.
 */
const HISTORY_ERASURE = [
  `${JS_API}.STREAM.DELETE.>`,
  `${JS_API}.STREAM.PURGE.>`,
  `${JS_API}.STREAM.MSG.DELETE.>`,
];

const STREAM_ADMINISTRATION = [
  `${JS_API}.STREAM.CREATE.>`,
  `${JS_API}.STREAM.UPDATE.>`,
  ...HISTORY_ERASURE,
  `${JS_API}.STREAM.RESTORE.>`,
  `${JS_API}.STREAM.PEER.>`,
  `${JS_API}.STREAM.LEADER.>`,
  `${JS_API}.META.>`,
  `${JS_API}.SERVER.>`,
];

/**
 * What each service may do, and why:
 * - authz: serves the commands (`<root>.cmd.authz.>`, the only identity that may receive them)
 *   and answers them with `allow_responses`; publishes the registry and authorization events;
 *   declares the streams (`$JS.API.>` without purging or deleting streams or messages).
 * - projection: reads the streams with ordered consumers (`$JS.API.>` without stream
 *   administration), publishes dead letters (`<root>.dlq.>`), change notices
 *   (`<root>.readmodel.changed.>`) and the alerts it raises (`<root>.alerts.>`, the only
 *   identity that may: an alert is the audit log's word).
 * - gateway: forwards REST writes as authz commands (requests: it never receives them), reads
 *   the streams for live events and follows the change notices; asks its peer replicas for a
 *   live-stream ticket it does not hold and answers theirs (`<root>.gateway.live_tickets.redeem`,
 *   gateways only, replies through `allow_responses`).
 * - gateway in GitLab mode: stores GitLab's hooks and audit events in the inbox stream and asks
 *   sync for its status; never the `mirror.*` commands, which write the registry without an
 *   actor (denied even though `<root>.cmd.authz.>` is allowed).
 * - sync (GitLab mode, docs/gitlab-mode.md): sends only the `mirror.*` commands; reads the inbox
 *   stream through its durable consumer (create, info, next and ack for that stream only, no
 *   other stream's API); dead-letters malformed inbox messages on its own dead-letter subject;
 *   answers `<root>.cmd.sync.>` requests.
 * Every service subscribes to its own reply inbox only.
 */
export function servicePermissions(
  topology: Topology,
  identity: ServiceIdentity,
  nkey: string,
): SubjectPermissions {
  const inbox = `${inboxPrefixForNkey(nkey)}.>`;
  const gitlab = gitlabModeNames(topology);
  switch (identity) {
    case "authz":
      return {
        publish: [topology.wildcards.authz, topology.wildcards.registry, `${JS_API}.>`],
        publishDeny: HISTORY_ERASURE,
        subscribe: [topology.wildcards.authzCommands, inbox],
        allowResponses: true,
      };
    case "projection":
      return {
        publish: [
          topology.wildcards.deadLetters,
          topology.wildcards.readModelChanged,
          topology.wildcards.alerts,
          `${JS_API}.>`,
        ],
        publishDeny: STREAM_ADMINISTRATION,
        subscribe: [inbox],
      };
    case "gateway":
      return {
        publish: [
          topology.wildcards.authzCommands,
          gitlab.inboxWildcard,
          gitlab.syncCommand("status"),
          topology.subjects.liveTicketRedeem,
          `${JS_API}.>`,
        ],
        publishDeny: [...STREAM_ADMINISTRATION, gitlab.mirrorCommands],
        subscribe: [topology.wildcards.readModelChanged, topology.subjects.liveTicketRedeem, inbox],
        // Answers a peer replica's ticket redemption (the reply goes to that replica's inbox).
        allowResponses: true,
      };
    case "sync": {
      const stream = gitlab.inboxStream;
      return {
        publish: [
          gitlab.mirrorCommands,
          topology.subjects.deadLetter(stream),
          `${JS_API}.INFO`,
          `${JS_API}.STREAM.INFO.${stream}`,
          `${JS_API}.CONSUMER.CREATE.${stream}`,
          `${JS_API}.CONSUMER.CREATE.${stream}.>`,
          `${JS_API}.CONSUMER.DURABLE.CREATE.${stream}.>`,
          `${JS_API}.CONSUMER.INFO.${stream}.>`,
          `${JS_API}.CONSUMER.MSG.NEXT.${stream}.>`,
          `$JS.ACK.${stream}.>`,
        ],
        subscribe: [gitlab.syncCommands, inbox],
        allowResponses: true,
      };
    }
  }
}

/**
 * GitLab mode's subjects and stream (docs/gitlab-mode.md): the inbox stream `<ROOT>_GITLAB_INBOX`
 * on `<root>.gitlab.inbox.>` (hooks and audit events the gateway stored), the `mirror.*`
 * commands to authz, and the requests sync answers on `<root>.cmd.sync.>`, as the topology
 * declares them.
 */
function gitlabModeNames(topology: Topology) {
  return {
    inboxStream: topology.streamNames.gitlabInbox,
    inboxWildcard: topology.wildcards.gitlabInbox,
    mirrorCommands: topology.subjects.authzCommand("mirror.>"),
    syncCommands: topology.wildcards.syncCommands,
    syncCommand: topology.subjects.syncCommand,
  };
}

/**
 * What one agent's collector may do, and why each subject is needed:
 * - its snapshot and heartbeat subjects (the agent's, and its replicas' `….heartbeat.0` …
 *   `….heartbeat.f`, not `….heartbeat.*`: a subject per invented collector let one agent's
 *   credentials fill the heartbeat stream and hold the projection minutes behind): the JetStream
 *   publishes themselves (the ack comes back on the reply inbox, so publishing needs no
 *   `$JS.API` subject);
 * - `<root>.cmd.authz.agent_token.authenticate.<its public key>`: resolving its agent from the
 *   agent token at start and at each renewal, naming itself as the sender (authz serves each
 *   sender in turn, so a flood from one collector cannot hold another's authentication back);
 *   not the subject without a sender, which would let it queue as no one; no other authz command;
 * - `$JS.API.INFO`: `jetstreamManager()` asks for the account info once when it is created
 *   (nats.js `checkAPI`), and `connectBus` creates one;
 * - `$JS.API.DIRECT.GET.<cluster stream>.<own snapshot subject>`: reading its last snapshot
 *   on start. Direct get with the subject in the request subject (streams have `allow_direct`)
 *   is the only read whose permission can name one subject; `$JS.API.STREAM.MSG.GET.<stream>`
 *   carries the subject in the body and would let an agent read every agent's snapshots;
 * - subscribe `_INBOX.<its public key>.>`: replies (acks, direct gets, authz answers). Not
 *   `_INBOX.>`, which would match every other client's replies. No `allow_responses`: a
 *   collector only requests, it never answers a request.
 */
export function agentPermissions(topology: Topology, agentId: number, nkey: string): SubjectPermissions {
  const snapshot = topology.subjects.clusterSnapshot(agentId);
  return {
    publish: [
      snapshot,
      topology.subjects.clusterHeartbeat(agentId),
      // The 16 heartbeat subjects of its replicas (`….heartbeat.<collector token>`), not `….heartbeat.*`:
      // the stream keeps one message per subject, so these bound what a flood of them can hold.
      ...topology.subjects.clusterCollectorHeartbeatSubjects(agentId),
      topology.subjects.authzCommandFromSender("agent_token.authenticate", nkey),
      `${JS_API}.INFO`,
      `${JS_API}.DIRECT.GET.${topology.streamNames.cluster}.${snapshot}`,
    ],
    subscribe: [`${inboxPrefixForNkey(nkey)}.>`],
  };
}

const SERVICE_COMMENTS: Record<ServiceIdentity, string> = {
  authz: "Kasmap authz: the only receiver of commands (agent tokens arrive here); answers them.",
  projection: "Kasmap projection: reads the streams; dead letters, change notices and alerts.",
  gateway: "Kasmap gateway: sends commands (never mirror.*), reads the streams and change notices.",
  sync: "Kasmap GitLab sync: mirror.* commands only; reads the GitLab inbox stream; answers cmd.sync.",
};

export function renderAuthorization(input: AuthorizationInput): string {
  const topology = createTopology(input.topologyRoot);
  assertUnique(input);
  const users = [
    ...SERVICE_IDENTITIES.map((identity) =>
      renderUser(
        SERVICE_COMMENTS[identity],
        input.services[identity],
        servicePermissions(topology, identity, input.services[identity]),
      ),
    ),
    ...[...input.agents]
      .sort((a, b) => a.agentId - b.agentId)
      .map(({ agentId, nkey }) =>
        renderUser(
          `Agent ${agentId}'s collector: its own subjects only.`,
          nkey,
          agentPermissions(topology, agentId, nkey),
        ),
      ),
  ];
  return ["authorization {", "  users: [", ...users.flat(), "  ]", "}", ""].join("\n");
}

function renderUser(comment: string, nkey: string, permissions: SubjectPermissions): string[] {
  const list = (subjects: readonly string[]) => `[${subjects.map(q).join(", ")}]`;
  const deny = permissions.publishDeny ? `, deny: ${list(permissions.publishDeny)}` : "";
  return [
    `    # ${comment}`,
    "    {",
    `      nkey: ${q(nkey)}`,
    "      permissions: {",
    `        publish: { allow: ${list(permissions.publish)}${deny} }`,
    `        subscribe: { allow: ${list(permissions.subscribe)} }`,
    ...(permissions.allowResponses ? ["        allow_responses: true"] : []),
    "      }",
    "    }",
  ];
}

/** Two users with one key would make the server pick either permission set. */
function assertUnique(input: AuthorizationInput): void {
  const keys = [
    ...SERVICE_IDENTITIES.map((identity) => input.services[identity]),
    ...input.agents.map((a) => a.nkey),
  ];
  for (const key of keys) inboxPrefixForNkey(key);
  if (new Set(keys).size !== keys.length) throw new RangeError("every user needs its own nkey");
  const ids = input.agents.map((a) => a.agentId);
  if (new Set(ids).size !== ids.length) throw new RangeError("each agent may appear once");
}

/**
 * A double-quoted config string. Every value here is a subject or a base32 key (no quote, no
 * backslash), and nats-server does not expand `$` inside quotes, so `$JS.API…` stays literal.
 */
function q(value: string): string {
  return JSON.stringify(value);
}
