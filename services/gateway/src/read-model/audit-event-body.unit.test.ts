import { AuditEventResponseSchema } from "@kasmap/contracts";
import { GITLAB_AUDIT_EVENT_KEYS } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { type AuditEventRecord, auditEventBody } from "./audit-event-body.ts";

/**
 * The REST audit event against GitLab's entity, assertions written (not copied) from
 * gitlab-org/gitlab: `API::Entities::AuditEvent` (ee/lib/api/entities/audit_event.rb, read at
 * commit 8d3cb64cc32188c7e9ff7c2b3cc43d0777d9edea of a mirror) exposes exactly `id`, `author_id`,
 * `entity_id`, `entity_type`, `event_name`, `details`, `created_at`; the entity's JSON schema
 * (ee/spec/fixtures/api/schemas/public_api/v4/audit_event.json, read at bad931f2739fb0b9f2e1a5982a322ccd1eb23a30,
 * before `event_name` was added) requires in `details` `author_name`, `entity_path`,
 * `target_details`, `target_type` (strings) and `target_id` (integer), and allows no other
 * top-level key; doc/api/audit_events.md shows `custom_message` and `author_email` in `details`.
 */
function record(overrides: Partial<AuditEventRecord> = {}): AuditEventRecord {
  return {
    id: 41,
    event_type: "cluster_agent_token_created",
    author_id: 7,
    entity_id: 20,
    entity_path: "acme/platform/infra",
    target_id: 9,
    target_type: "Clusters::AgentToken",
    details: { custom_message: "Created cluster agent token", token_name: "deploy" },
    created_at: new Date("2026-03-01T10:00:00.000Z"),
    author_name: "Ops",
    agent_name: "prod",
    project_path: "acme/platform/infra",
    project_name: "infra",
    ...overrides,
  };
}

/** The body of the record with these overrides, checked to be one GitLab's schema accepts unchanged. */
function schemaValidBody(overrides: Partial<AuditEventRecord> = {}) {
  const body = auditEventBody(record(overrides));
  expect(AuditEventResponseSchema.parse(body)).toEqual(body);
  return body;
}

describe("auditEventBody", () => {
  it("has GitLab's seven keys, with target, author, message and path inside details", () => {
    const body = schemaValidBody();
    expect(Object.keys(body).sort()).toEqual([...GITLAB_AUDIT_EVENT_KEYS]);
    expect(body).toMatchObject({
      id: 41,
      author_id: 7,
      entity_id: 20,
      entity_type: "Project",
      event_name: "cluster_agent_token_created",
      created_at: "2026-03-01T10:00:00.000Z",
    });
    expect(body.details).toEqual({
      event_name: "cluster_agent_token_created",
      author_name: "Ops",
      author_class: "User",
      author_email: null,
      target_id: 9,
      target_type: "Clusters::AgentToken",
      target_details: "deploy",
      custom_message: "Created cluster agent token",
      entity_path: "acme/platform/infra",
      token_name: "deploy",
    });
  });

  it("types details as GitLab's schema does", () => {
    const { details } = auditEventBody(record());
    for (const key of ["author_name", "entity_path", "target_details", "target_type", "custom_message"]) {
      expect(typeof details[key], key).toBe("string");
    }
    expect(Number.isInteger(details.target_id)).toBe(true);
  });

  it("names the agent as target_details, and Kasmap as the author of what no user did", () => {
    const body = schemaValidBody({
      event_type: "cluster_agent_connected",
      author_id: null,
      author_name: null,
      target_id: 3,
      target_type: "Clusters::Agent",
      details: { collector_id: "c-1", previous_heartbeat_at: null },
    });
    expect(body.author_id).toBeNull();
    expect(body.details).toMatchObject({
      author_name: "Kasmap",
      author_class: "Kasmap::System",
      target_details: "prod",
      custom_message: "Cluster agent connected",
      collector_id: "c-1",
    });
  });

  it("lets GitLab's keys win over a stored key of the same name, and fills a late entity path", () => {
    const body = auditEventBody(
      record({ details: { target_id: "forged", event_name: "x" }, entity_path: null }),
    );
    expect(body.details.target_id).toBe(9);
    expect(body.details.event_name).toBe("cluster_agent_token_created");
    expect(body.details.entity_path).toBe("acme/platform/infra");
  });

  it("has no target or event_type at the top level (the streaming shape stays on the stream)", () => {
    const body = auditEventBody(record()) as Record<string, unknown>;
    for (const key of [
      "target_id",
      "target_type",
      "target_details",
      "entity_path",
      "event_type",
      "author_name",
    ]) {
      expect(body, key).not.toHaveProperty(key);
    }
    expect(AuditEventResponseSchema.safeParse({ ...body, target_id: 9 }).success).toBe(false);
  });
});
