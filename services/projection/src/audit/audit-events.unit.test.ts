import { AUDIT_EVENT_TYPES, createTopology, type KasmapEvent } from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import {
  type AuditPreviousState,
  auditEventsFor,
  disconnectedAuditEvent,
  NO_PREVIOUS_STATE,
} from "./audit-events.ts";

const events = testEvents(createTopology("audit_unit"));
const KNOWN_AGENT: AuditPreviousState = {
  ...NO_PREVIOUS_STATE,
  agent: { name: "agent-5", projectId: 3 },
  entity: { id: 3, path: "group-2/project-3" },
};
const revoked = (() => {
  const event = events.agentToken(9, 5);
  return { ...event, data: { ...event.data, token: { ...event.data.token, status: "revoked" as const } } };
})();
/** A collector token (issue 9 item 5): an `agent_token` event of kind `collector`. */
const collectorToken = (status: "active" | "revoked") => {
  const event = events.agentToken(11, 5);
  return {
    ...event,
    data: { ...event.data, token: { ...event.data.token, kind: "collector" as const, status } },
  };
};
const moved = buildClusterFacts({ api_endpoint: "https://10.9.0.1:6443", api_endpoint_ip: "10.9.0.1" });
const authz = (added: boolean, cause: "config_changed" | "config_refused" | "registry_changed") => {
  const event = events.authz(5, 3, {
    ci_access: { projects: [], groups: [] },
    user_access: { projects: [], groups: [] },
  });
  const ref = { access: "ci_access" as const, target_type: "project" as const, target_id: 8 };
  return {
    ...event,
    data: { ...event.data, cause, added: added ? [ref] : [], dropped: [], dropped_count: 0 },
  };
};

const REFUSAL = { code: "payload_too_large" as const, message: "agent configuration is 300000 bytes" };
const refused = (() => {
  const event = authz(false, "config_refused");
  return { ...event, data: { ...event.data, refusal: REFUSAL } };
})();

type Case = {
  name: string;
  event: KasmapEvent;
  previous: AuditPreviousState;
  expected: Array<{ type: string; suffix?: string; details?: Record<string, unknown> }>;
};

// biome-ignore format: a table reads best one case per line
const cases: Case[] = [
  { name: "first sight of a live agent: created", event: events.agent(5, 3), previous: { ...NO_PREVIOUS_STATE, entity: { id: 3, path: "g/p" } }, expected: [{ type: AUDIT_EVENT_TYPES.agentCreated, details: { custom_message: "Created cluster agent 'agent-5' with id 5", agent_name: "agent-5" } }] },
  { name: "a known live agent again: nothing", event: events.agent(5, 3), previous: KNOWN_AGENT, expected: [] },
  { name: "a known agent with deleted_at: deleted", event: events.agent(5, 3, "2026-02-01T00:00:00.000Z"), previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.agentDeleted, details: { custom_message: "Deleted cluster agent 'agent-5' with id 5", agent_name: "agent-5" } }] },
  { name: "an agent already gone arrives deleted: nothing", event: events.agent(5, 3, "2026-02-01T00:00:00.000Z"), previous: NO_PREVIOUS_STATE, expected: [] },
  { name: "a new token: created", event: events.agentToken(9, 5), previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.tokenCreated, suffix: "created", details: { custom_message: "Created cluster agent token 'token' with id 9", token_id: 9, token_name: "token" } }] },
  { name: "a known active token again: nothing", event: events.agentToken(9, 5), previous: { ...KNOWN_AGENT, tokenStatus: "active" }, expected: [] },
  { name: "active → revoked: revoked", event: revoked, previous: { ...KNOWN_AGENT, tokenStatus: "active" }, expected: [{ type: AUDIT_EVENT_TYPES.tokenRevoked, suffix: "revoked" }] },
  { name: "revoked again: nothing", event: revoked, previous: { ...KNOWN_AGENT, tokenStatus: "revoked" }, expected: [] },
  { name: "first seen already revoked: created and revoked", event: revoked, previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.tokenCreated, suffix: "created" }, { type: AUDIT_EVENT_TYPES.tokenRevoked, suffix: "revoked" }] },
  { name: "a new collector token: collector token created", event: collectorToken("active"), previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.collectorTokenCreated, suffix: "created", details: { custom_message: "Created collector token", token_name: "token" } }] },
  { name: "a collector token revoked: collector token revoked", event: collectorToken("revoked"), previous: { ...KNOWN_AGENT, tokenStatus: "active" }, expected: [{ type: AUDIT_EVENT_TYPES.collectorTokenRevoked, suffix: "revoked", details: { custom_message: "Revoked collector token", token_name: "token" } }] },
  { name: "first snapshot: changed, before null", event: events.snapshot(5, buildClusterFacts()), previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.clusterInfoChanged }] },
  { name: "endpoint moved: changed with those fields", event: events.snapshot(5, moved), previous: { ...KNOWN_AGENT, snapshot: buildClusterFacts() }, expected: [{ type: AUDIT_EVENT_TYPES.clusterInfoChanged }] },
  { name: "only the agent pod IP and node count moved: nothing", event: events.snapshot(5, buildClusterFacts({ agent_pod_ip: "10.244.9.9", node_count: 7 })), previous: { ...KNOWN_AGENT, snapshot: buildClusterFacts() }, expected: [] },
  { name: "grants added: authorization changed", event: authz(true, "registry_changed"), previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.authorizationChanged, details: { cause: "registry_changed", added: [{ access: "ci_access", target_type: "project", target_id: 8 }], removed: [], dropped_count: 0, dropped: [] } }] },
  { name: "a configuration write without effect: authorization changed", event: authz(false, "config_changed"), previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.authorizationChanged }] },
  { name: "a refused configuration: authorization changed, with the refusal", event: refused, previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.authorizationChanged, details: { cause: "config_refused", added: [], removed: [], dropped_count: 0, dropped: [], refusal: REFUSAL } }] },
  { name: "a re-resolution that changed nothing: nothing", event: authz(false, "registry_changed"), previous: KNOWN_AGENT, expected: [] },
  { name: "first heartbeat ever: connected", event: events.heartbeat(5, "2026-01-01T00:10:00.000Z"), previous: KNOWN_AGENT, expected: [{ type: AUDIT_EVENT_TYPES.connected, details: { collector_id: "collector-1", previous_heartbeat_at: null } }] },
  { name: "heartbeat 1 min after the last: nothing", event: events.heartbeat(5, "2026-01-01T00:10:00.000Z"), previous: { ...KNOWN_AGENT, lastHeartbeatAt: "2026-01-01T00:09:00.000Z" }, expected: [] },
  { name: "heartbeat after 10 min of silence: connected", event: events.heartbeat(5, "2026-01-01T00:10:00.000Z"), previous: { ...KNOWN_AGENT, lastHeartbeatAt: "2026-01-01T00:00:00.000Z" }, expected: [{ type: AUDIT_EVENT_TYPES.connected }] },
  { name: "an older heartbeat than the stored one: nothing", event: events.heartbeat(5, "2026-01-01T00:00:00.000Z"), previous: { ...KNOWN_AGENT, lastHeartbeatAt: "2026-01-01T00:10:00.000Z" }, expected: [] },
  { name: "a group change: nothing", event: events.group(2), previous: NO_PREVIOUS_STATE, expected: [] },
];

describe("auditEventsFor", () => {
  it.each(cases)("$name", ({ event, previous, expected }) => {
    const drafts = auditEventsFor(event, previous);
    expect(drafts.map((d) => d.event_type)).toEqual(expected.map((e) => e.type));
    drafts.forEach((draft, i) => {
      const want = expected[i];
      expect(draft.event_id).toBe(want?.suffix ? `${event.id}:${want.suffix}` : event.id);
      expect(draft.created_at).toBe(event.time);
      if (want?.details) expect(draft.details).toEqual(want.details);
    });
  });

  it("names the project, the target and the author as GitLab does", () => {
    const [created] = auditEventsFor(events.agent(5, 3), {
      ...NO_PREVIOUS_STATE,
      entity: { id: 3, path: "g/p" },
    });
    expect(created).toMatchObject({
      entity_id: 3,
      entity_path: "g/p",
      target_id: 5,
      target_type: "Clusters::Agent",
      author_id: 1,
      agent_id: 5,
    });
    // GitLab's agent token events target the agent and name the token in the message.
    const [token] = auditEventsFor(events.agentToken(9, 5), KNOWN_AGENT);
    expect(token).toMatchObject({
      entity_id: 3,
      target_id: 5,
      target_type: "Clusters::Agent",
      agent_id: 5,
      details: { token_id: 9 },
    });
    const [collector] = auditEventsFor(collectorToken("active"), KNOWN_AGENT);
    expect(collector).toMatchObject({ target_id: 11, target_type: "Kasmap::CollectorToken", agent_id: 5 });
  });

  it("records a refused creation as GitLab's cluster_agent_create_failed, targeting the project", () => {
    const event = events.agentChangeRefused(3);
    const withIp = { ...event, data: { ...event.data, actor_ip_address: "198.51.100.7" } };
    const [failed] = auditEventsFor(withIp, { ...NO_PREVIOUS_STATE, entity: { id: 3, path: "g/p" } });
    expect(failed).toEqual({
      event_id: event.id,
      event_type: AUDIT_EVENT_TYPES.agentCreateFailed,
      author_id: 1,
      entity_id: 3,
      entity_path: "g/p",
      target_id: 3,
      target_type: "Project",
      agent_id: null,
      created_at: event.time,
      details: {
        // ee/app/services/ee/clusters/agents/create_service.rb: the name, then full_messages inspected.
        custom_message:
          "Attempted to create cluster agent '-bad' but failed with message: [\"Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'\"]",
        agent_name: "-bad",
        ip_address: "198.51.100.7",
      },
    });
  });

  it("records a refused deletion as cluster_agent_delete_failed, targeting the agent", () => {
    const event = events.agentChangeRefused(3);
    const deletion = {
      ...event,
      data: {
        ...event.data,
        action: "delete" as const,
        agent_id: 5,
        agent_name: "agent-5",
        messages: ["Agent is busy"],
      },
    };
    const [failed] = auditEventsFor(deletion, KNOWN_AGENT);
    expect(failed).toMatchObject({
      event_type: AUDIT_EVENT_TYPES.agentDeleteFailed,
      target_id: 5,
      target_type: "Clusters::Agent",
      agent_id: 5,
      details: {
        custom_message:
          "Attempted to delete cluster agent 'agent-5' but failed with message: [\"Agent is busy\"]",
      },
    });
    expect(failed?.details).not.toHaveProperty("ip_address");
  });

  it("records the acting user's client address as GitLab's details.ip_address", () => {
    const created = events.agent(5, 3);
    const [withIp] = auditEventsFor(
      { ...created, data: { ...created.data, actor_ip_address: "2001:db8::7" } },
      { ...NO_PREVIOUS_STATE, entity: { id: 3, path: "g/p" } },
    );
    expect(withIp?.details).toMatchObject({ ip_address: "2001:db8::7" });
    const token = events.agentToken(9, 5);
    const [tokenWithIp] = auditEventsFor(
      { ...token, data: { ...token.data, actor_ip_address: "203.0.113.4" } },
      KNOWN_AGENT,
    );
    expect(tokenWithIp?.details).toMatchObject({ ip_address: "203.0.113.4" });
  });

  it("records the changed infrastructure fields with their values before and after", () => {
    const [first] = auditEventsFor(events.snapshot(5, buildClusterFacts()), KNOWN_AGENT);
    expect(first?.details).toMatchObject({
      before: null,
      after: { api_endpoint: "https://10.0.0.1:6443", platform: "kind" },
    });
    const [change] = auditEventsFor(events.snapshot(5, moved), {
      ...KNOWN_AGENT,
      snapshot: buildClusterFacts(),
    });
    expect(change?.details).toMatchObject({
      changed_fields: ["api_endpoint", "api_endpoint_ip"],
      before: { api_endpoint: "https://10.0.0.1:6443", api_endpoint_ip: "10.0.0.1", cluster_name: "prod" },
      after: { api_endpoint: "https://10.9.0.1:6443", api_endpoint_ip: "10.9.0.1", cluster_name: "prod" },
    });
  });

  it("compares facts read back from jsonb (other key order) as equal", () => {
    const stored = buildClusterFacts();
    const reordered = {
      ...stored,
      node_ips: { internal: stored.node_ips.internal, external: stored.node_ips.external },
    };
    expect(auditEventsFor(events.snapshot(5, stored), { ...KNOWN_AGENT, snapshot: reordered })).toEqual([]);
  });

  it("never puts a token digest in details", () => {
    const drafts = auditEventsFor(revoked, KNOWN_AGENT);
    expect(JSON.stringify(drafts)).not.toContain(revoked.data.token.token_sha256);
  });
});

describe("disconnectedAuditEvent", () => {
  it("names the agent's silence by its last heartbeat, dated when the agent turned disconnected", () => {
    const draft = disconnectedAuditEvent({
      agent_id: 5,
      collector_id: "collector-1",
      last_heartbeat_at: "2026-01-01T00:00:00.000Z",
      entity: { id: 3, path: "group-2/project-3" },
    });
    expect(draft).toEqual({
      event_id: "disconnected:5:2026-01-01T00:00:00.000Z",
      event_type: AUDIT_EVENT_TYPES.disconnected,
      author_id: null,
      entity_id: 3,
      entity_path: "group-2/project-3",
      target_id: 5,
      target_type: "Clusters::Agent",
      agent_id: 5,
      details: { collector_id: "collector-1", last_heartbeat_at: "2026-01-01T00:00:00.000Z" },
      created_at: "2026-01-01T00:03:00.000Z",
    });
  });
});
