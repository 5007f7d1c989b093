import { inboxPrefixForNkey } from "@kasmap/bus";
import { createTopology, type Topology } from "@kasmap/contracts";

/**
 * Renders the `authorization { users: [...] }` block of a nats-server config (2.9+) in which
 * every client authenticates with an nkey: the services user (authz, projection, gateway) with
 * full rights, and one user per agent whose collector may publish only on its own agent's
 * subjects. Pure: the same input gives the same text; no secret goes in, none comes out (the
 * config holds public keys, `U…`; each collector keeps its seed, `SU…`).
 */
export type AuthorizationInput = {
  topologyRoot: string;
  services: { nkey: string };
  agents: ReadonlyArray<{ agentId: number; nkey: string }>;
};

export type SubjectPermissions = { publish: string[]; subscribe: string[] };

const JS_API = "$JS.API";

/**
 * What one agent's collector may do, and why each subject is needed:
 * - its snapshot and heartbeat subjects: the JetStream publishes themselves (the ack comes back
 *   on the reply inbox, so publishing needs no `$JS.API` subject);
 * - `<root>.cmd.authz.agent_token.authenticate`: resolving its agent from the agent token at
 *   start; no other authz command;
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
      topology.subjects.authzCommand("agent_token.authenticate"),
      `${JS_API}.INFO`,
      `${JS_API}.DIRECT.GET.${topology.streamNames.cluster}.${snapshot}`,
    ],
    subscribe: [`${inboxPrefixForNkey(nkey)}.>`],
  };
}

export function renderAuthorization(input: AuthorizationInput): string {
  const topology = createTopology(input.topologyRoot);
  assertUnique(input);
  const users = [
    [
      `    # Kasmap services (authz, projection, gateway): full rights.`,
      `    { nkey: ${q(input.services.nkey)} }`,
    ],
    ...[...input.agents]
      .sort((a, b) => a.agentId - b.agentId)
      .map(({ agentId, nkey }) => renderAgentUser(agentId, nkey, agentPermissions(topology, agentId, nkey))),
  ];
  return ["authorization {", "  users: [", ...users.flat(), "  ]", "}", ""].join("\n");
}

function renderAgentUser(agentId: number, nkey: string, permissions: SubjectPermissions): string[] {
  return [
    `    # Agent ${agentId}'s collector: its own subjects only.`,
    "    {",
    `      nkey: ${q(nkey)}`,
    "      permissions: {",
    `        publish: { allow: [${permissions.publish.map(q).join(", ")}] }`,
    `        subscribe: { allow: [${permissions.subscribe.map(q).join(", ")}] }`,
    "      }",
    "    }",
  ];
}

/** Two users with one key would make the server pick either permission set. */
function assertUnique(input: AuthorizationInput): void {
  const keys = [input.services.nkey, ...input.agents.map((a) => a.nkey)];
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
