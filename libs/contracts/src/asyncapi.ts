import { z } from "zod";
import {
  AUTHZ_COMMANDS,
  type AuthzCommandName,
  CommandErrorSchema,
  StreamPositionSchema,
} from "./commands.ts";
import { DEAD_LETTER_HEADERS, DeadLetterRecordSchema } from "./dead-letter-headers.ts";
import { EVENT_TYPES, type EventType, KasmapEventSchema } from "./events.ts";
import { GITLAB_INBOX_SOURCES, GitLabInboxMessageSchema, SyncStatusSchema } from "./gitlab-inbox.ts";
import { type JsonSchema, jsonSchemaOf } from "./json-schema.ts";
import { READ_MODEL_TABLES, ReadModelNoticeSchema } from "./read-model-notice.ts";
import { createTopology, REGISTRY_EVENT_TYPES, REGISTRY_KINDS } from "./topology.ts";

/** The parts of an AsyncAPI 3.0 document Kasmap emits. */
type Ref = { $ref: string };
type AsyncApiParameter = { description: string; enum?: string[] };
type AsyncApiChannel = {
  address: string | null;
  description: string;
  parameters?: Record<string, AsyncApiParameter>;
  messages: Record<string, Ref>;
};
type AsyncApiMessage = {
  name: string;
  title: string;
  contentType: string;
  headers?: JsonSchema;
  payload: JsonSchema;
};
type AsyncApiOperation = {
  action: "send" | "receive";
  summary: string;
  channel: Ref;
  messages: Ref[];
  reply?: { address?: { location: string }; channel: Ref; messages: Ref[] };
};
export type AsyncApiDocument = {
  asyncapi: "3.0.0";
  info: { title: string; version: string; description: string };
  defaultContentType: string;
  servers: Record<string, { host: string; protocol: "nats"; description: string }>;
  channels: Record<string, AsyncApiChannel>;
  operations: Record<string, AsyncApiOperation>;
  components: { messages: Record<string, AsyncApiMessage> };
};

/** Every event type with its whole CloudEvent schema, read off `KasmapEventSchema`. */
export function kasmapEventSchemas(): Array<{ type: EventType; schema: z.ZodType }> {
  return KasmapEventSchema.options.map((option) => ({ type: option.shape.type.value, schema: option }));
}

// Addresses come from the topology's own builders, called with a marker id that is then
// replaced by the parameter, so the document cannot disagree with the subjects in use.
const MARKER_ID = 987_654_321;
const withParameter = (subject: string, name: string) => subject.replace(String(MARKER_ID), `{${name}}`);

const msgIdHeader: JsonSchema = {
  type: "object",
  properties: {
    "Nats-Msg-Id": {
      type: "string",
      description: "Equals the CloudEvent `id`: the server drops re-publishes inside the duplicate window",
    },
  },
};
const ref = ($ref: string): Ref => ({ $ref });

function eventMessages(): Record<string, AsyncApiMessage> {
  const messages: Record<string, AsyncApiMessage> = {};
  for (const { type, schema } of kasmapEventSchemas()) {
    messages[type] = {
      name: type,
      title: `CloudEvent ${type}`,
      contentType: "application/cloudevents+json",
      headers: msgIdHeader,
      payload: jsonSchemaOf(schema, "output"),
    };
  }
  return messages;
}

function commandReplySchema(name: AuthzCommandName): z.ZodType {
  return z.union([
    z.object({
      ok: z.literal(true),
      result: AUTHZ_COMMANDS[name].result,
      positions: z.array(StreamPositionSchema),
    }),
    z.object({ ok: z.literal(false), error: CommandErrorSchema }),
  ]);
}

type Parts = Pick<AsyncApiDocument, "channels" | "operations"> & AsyncApiDocument["components"];

function addEventChannel(
  parts: Parts,
  id: string,
  channel: Omit<AsyncApiChannel, "messages">,
  type: EventType,
  publisher: string,
): void {
  addPublishChannel(parts, id, channel, type, `${publisher} publishes (JetStream, stored in the audit log)`);
}

/**
 * Channel `id`, carrying the one message `message` (declared in the components), and its
 * `<id>_publish` operation: whoever `summary` names sends it there.
 */
function addPublishChannel(
  parts: Parts,
  id: string,
  channel: Omit<AsyncApiChannel, "messages">,
  message: string,
  summary: string,
): void {
  parts.channels[id] = { ...channel, messages: { [message]: ref(`#/components/messages/${message}`) } };
  addSendOperation(parts, id, message, summary);
}

/** The `<id>_publish` operation: whoever `summary` names sends `message` on channel `id`. */
function addSendOperation(parts: Parts, id: string, message: string, summary: string): void {
  parts.operations[`${id}_publish`] = {
    action: "send",
    summary,
    channel: ref(`#/channels/${id}`),
    messages: [ref(`#/channels/${id}/messages/${message}`)],
  };
}

function addEventChannels(parts: Parts, topology: ReturnType<typeof createTopology>): void {
  const agentId = { agentId: { description: "The agent's numeric id" } };
  const { subjects } = topology;
  addEventChannel(
    parts,
    "clusterSnapshot",
    {
      address: withParameter(subjects.clusterSnapshot(MARKER_ID), "agentId"),
      description: "Derived cluster facts, published when their content hash changes",
      parameters: agentId,
    },
    EVENT_TYPES.clusterSnapshot,
    "The agent's collector",
  );
  addEventChannel(
    parts,
    "clusterHeartbeat",
    {
      address: withParameter(subjects.clusterHeartbeat(MARKER_ID), "agentId"),
      description:
        "Collector liveness from collectors before issue 11; the stream keeps the latest per agent",
      parameters: agentId,
    },
    EVENT_TYPES.clusterHeartbeat,
    "The agent's collector",
  );
  addEventChannel(
    parts,
    "clusterCollectorHeartbeat",
    {
      address: `${withParameter(subjects.clusterHeartbeat(MARKER_ID), "agentId")}.{collectorToken}`,
      description:
        "One collector replica's liveness and identity (pod, node, version); the stream keeps the latest per collector",
      parameters: {
        ...agentId,
        collectorToken: {
          description: "The first 32 hex digits of the SHA-256 of the heartbeat's collector_id",
        },
      },
    },
    EVENT_TYPES.clusterHeartbeat,
    "Each replica of the agent's collector",
  );
  addEventChannel(
    parts,
    "authzChanged",
    {
      address: withParameter(subjects.authzChanged(MARKER_ID), "agentId"),
      description: "The agent's whole current grant set after a change",
      parameters: agentId,
    },
    EVENT_TYPES.authzChanged,
    "authz",
  );
  addEventChannel(
    parts,
    "alertClusterChanged",
    {
      address: withParameter(subjects.alert(EVENT_TYPES.alertClusterChanged, MARKER_ID), "agentId"),
      description:
        "Alert (CloudEvent extension `severity`: critical): the agent's cluster_uid changed, its token is used in another cluster; the cluster_agent_cluster_changed audit event's details",
      parameters: agentId,
    },
    EVENT_TYPES.alertClusterChanged,
    "The projection (through its outbox, in the transaction of the audit event)",
  );
  addEventChannel(
    parts,
    "alertClusterConflict",
    {
      address: withParameter(subjects.alert(EVENT_TYPES.alertClusterConflict, MARKER_ID), "agentId"),
      description:
        "Alert (CloudEvent extension `severity`: critical): two live collectors of the agent report different cluster_uids, its token is used in two clusters at once; the cluster_agent_cluster_conflict audit event's details",
      parameters: agentId,
    },
    EVENT_TYPES.alertClusterConflict,
    "The projection (through its outbox, in the transaction of the audit event)",
  );
  for (const kind of REGISTRY_KINDS) {
    const address = withParameter(subjects.registryChanged(kind, MARKER_ID), "id");
    const parameters = { id: { description: `The ${kind}'s numeric id` } };
    addEventChannel(
      parts,
      `registry_${kind}`,
      { address, description: `One ${kind}'s new state (tokens as SHA-256 digests only)`, parameters },
      REGISTRY_EVENT_TYPES[kind],
      "authz",
    );
  }
}

function addCommandChannels(parts: Parts, topology: ReturnType<typeof createTopology>): void {
  parts.channels.authzCommandReply = {
    address: null,
    description: "The requester's reply inbox (core NATS request/reply)",
    messages: Object.fromEntries(
      Object.keys(AUTHZ_COMMANDS).map((name) => [
        `${name}.reply`,
        ref(`#/components/messages/command_${name.replace(".", "_")}.reply`),
      ]),
    ),
  };
  for (const name of Object.keys(AUTHZ_COMMANDS) as AuthzCommandName[]) {
    const id = `command_${name.replace(".", "_")}`;
    parts.messages[`${id}.request`] = {
      name: `${id}.request`,
      title: `${name} request`,
      contentType: "application/json",
      payload: jsonSchemaOf(AUTHZ_COMMANDS[name].request, "input"),
    };
    parts.messages[`${id}.reply`] = {
      name: `${id}.reply`,
      title: `${name} reply`,
      contentType: "application/json",
      payload: jsonSchemaOf(commandReplySchema(name), "output"),
    };
    parts.channels[id] = {
      address: topology.subjects.authzCommand(name),
      description: `Command ${name} to authz (queue group kasmap-authz)`,
      messages: { request: ref(`#/components/messages/${id}.request`) },
    };
    parts.operations[id] = {
      action: "receive",
      summary: `authz handles ${name} and replies; positions name where its events were stored`,
      channel: ref(`#/channels/${id}`),
      messages: [ref(`#/channels/${id}/messages/request`)],
      reply: {
        address: { location: "$message.header#/replyTo" },
        channel: ref("#/channels/authzCommandReply"),
        messages: [ref(`#/channels/authzCommandReply/messages/${name}.reply`)],
      },
    };
  }
}

function addNoticeAndDeadLetterChannels(parts: Parts, topology: ReturnType<typeof createTopology>): void {
  parts.messages.readModelNotice = {
    name: "readModelNotice",
    title: "Read model change notice",
    contentType: "application/json",
    payload: jsonSchemaOf(ReadModelNoticeSchema, "output"),
  };
  addPublishChannel(
    parts,
    "readModelChanged",
    {
      address: topology.subjects.readModelChanged("{table}"),
      description: "Core NATS (may be lost): the projection committed a change to this table",
      parameters: { table: { description: "Read model table", enum: [...READ_MODEL_TABLES] } },
    },
    "readModelNotice",
    "The projection publishes after each commit",
  );
  const headerNames = Object.values(DEAD_LETTER_HEADERS);
  parts.messages.deadLetter = {
    name: "deadLetter",
    title: "A message a consumer rejected",
    contentType: "application/json",
    headers: {
      type: "object",
      required: headerNames,
      properties: Object.fromEntries(headerNames.map((h) => [h, { type: "string" }])),
    },
    payload: {
      ...jsonSchemaOf(DeadLetterRecordSchema, "output"),
      description: "A bounded record of the rejected message: reason, position, digest, first bytes",
    },
  };
  const streams = topology.streams.filter((s) => s.role !== "deadLetter").map((s) => s.name);
  addPublishChannel(
    parts,
    "deadLetter",
    {
      address: topology.subjects.deadLetter("{streamName}"),
      description: "Dead letters per source stream, with the reason in headers",
      parameters: { streamName: { description: "The stream the message came from", enum: streams } },
    },
    "deadLetter",
    "A consumer stores a message it cannot apply, then terminates it",
  );
}

/**
 * GitLab mode (issue 9): the inbox the gateway stores GitLab's deliveries in, and the sync
 * service's status request.
 */
function addGitLabChannels(parts: Parts, topology: ReturnType<typeof createTopology>): void {
  parts.messages.gitlabInboxMessage = {
    name: "gitlabInboxMessage",
    title: "A GitLab delivery (system hook, webhook or audit streaming event) as received",
    contentType: "application/json",
    headers: {
      type: "object",
      properties: {
        "Nats-Msg-Id": {
          type: "string",
          description: "GitLab's Idempotency-Key when it sent one: a resent delivery is stored once",
        },
      },
    },
    payload: jsonSchemaOf(GitLabInboxMessageSchema, "output"),
  };
  addPublishChannel(
    parts,
    "gitlabInbox",
    {
      address: topology.subjects.gitlabInbox("hook").replace(/hook$/, "{source}"),
      description: `GitLab mode: deliveries stored by the gateway in ${topology.streamNames.gitlabInbox}, consumed by the sync service`,
      parameters: {
        source: { description: "The route GitLab delivered to", enum: [...GITLAB_INBOX_SOURCES] },
      },
    },
    "gitlabInboxMessage",
    "The gateway stores each authenticated delivery (JetStream) before answering GitLab 200",
  );
  parts.messages["sync_status.request"] = {
    name: "sync_status.request",
    title: "sync status request",
    contentType: "application/json",
    payload: { type: "object", description: "An empty object" },
  };
  parts.messages["sync_status.reply"] = {
    name: "sync_status.reply",
    title: "sync status reply",
    contentType: "application/json",
    payload: jsonSchemaOf(SyncStatusSchema, "output"),
  };
  parts.channels.syncStatus = {
    address: topology.subjects.syncCommand("status"),
    description: "GitLab mode: the mirror's health (queue group kasmap-gitlab-sync)",
    messages: { request: ref("#/components/messages/sync_status.request") },
  };
  parts.channels.syncStatusReply = {
    address: null,
    description: "The requester's reply inbox (core NATS request/reply)",
    messages: { reply: ref("#/components/messages/sync_status.reply") },
  };
  parts.operations.syncStatus = {
    action: "receive",
    summary: "The sync service reports its last reconcile, last error and whether GitLab answers",
    channel: ref("#/channels/syncStatus"),
    messages: [ref("#/channels/syncStatus/messages/request")],
    reply: {
      address: { location: "$message.header#/replyTo" },
      channel: ref("#/channels/syncStatusReply"),
      messages: [ref("#/channels/syncStatusReply/messages/reply")],
    },
  };
}

/**
 * The AsyncAPI 3.0 document of Kasmap's NATS subjects under the default topology (served at
 * `GET /api/v4/asyncapi.json`, committed as `libs/contracts/generated/asyncapi.json`).
 */
export function buildAsyncApiDocument(): AsyncApiDocument {
  const topology = createTopology();
  const parts: Parts = { channels: {}, operations: {}, messages: eventMessages() };
  addEventChannels(parts, topology);
  addCommandChannels(parts, topology);
  addNoticeAndDeadLetterChannels(parts, topology);
  addGitLabChannels(parts, topology);
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Kasmap events and commands",
      version: "0.1.0",
      description: `Subjects under the default root \`${topology.root}\`. Events are CloudEvents 1.0 in JSON structured mode; streams: ${topology.streams.map((s) => s.name).join(", ")}.`,
    },
    defaultContentType: "application/json",
    servers: { local: { host: "127.0.0.1:4222", protocol: "nats", description: "nats-server -js" } },
    channels: parts.channels,
    operations: parts.operations,
    components: { messages: parts.messages },
  };
}
