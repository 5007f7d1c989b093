import { isKasmapError } from "@kasmap/contracts";
import { buildClusterFacts, sha256 } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import {
  agentRow,
  authorizationRows,
  connectionRow,
  groupRow,
  jobRow,
  membershipRow,
  personalAccessTokenRow,
  projectRow,
  snapshotRow,
} from "./read-model-rows.ts";

const T0 = "2026-01-01T00:00:00.000Z";
const token = {
  id: 1,
  user_id: 2,
  name: "ci",
  token_sha256: sha256("x"),
  scopes: ["api"],
  revoked: false,
  expires_at: "2027-02-28" as string | null,
  created_at: T0,
};

describe("read model rows", () => {
  it("maps a removed group or project (GitLab mode: deleted_at set) to no row", () => {
    const group = {
      id: 3,
      kind: "group" as const,
      owner_id: null,
      name: "G",
      path: "g",
      description: null,
      parent_id: null,
      traversal_ids: [3],
      full_path: "g",
      full_name: "G",
      created_at: T0,
    };
    expect(groupRow({ ...group, deleted_at: T0 })).toBeNull();
    expect(groupRow(group)).toEqual(group);
    const project = {
      id: 4,
      name: "P",
      path: "p",
      description: null,
      namespace_id: 3,
      traversal_ids: [3],
      path_with_namespace: "g/p",
      name_with_namespace: "G / P",
      creator_id: null,
      created_at: T0,
    };
    expect(projectRow({ ...project, deleted_at: T0 })).toBeNull();
    expect(projectRow(project)).toEqual(project);
  });

  it("maps a removed membership to no row", () => {
    const membership = { id: 1, user_id: 2, source_type: "group" as const, source_id: 3 };
    expect(membershipRow({ ...membership, access_level: null })).toBeNull();
    expect(membershipRow({ ...membership, access_level: 40 })).toEqual({ ...membership, access_level: 40 });
  });

  it("maps a deleted agent to no row, and drops deleted_at from a live one", () => {
    const agent = { id: 7, name: "a", project_id: 3, created_at: T0, created_by_user_id: null };
    expect(agentRow({ ...agent, deleted_at: T0 })).toBeNull();
    expect(agentRow({ ...agent, deleted_at: null })).toEqual(agent);
  });

  it.each([
    ["2027-02-28", true],
    [null, true],
    ["2027-02-30", false],
    ["2027-2-28", false],
    ["next tuesday", false],
  ])("accepts expires_at %j only as a calendar date: %s", (expiresAt, ok) => {
    const map = () => personalAccessTokenRow({ ...token, expires_at: expiresAt });
    if (ok) expect(map().expires_at).toBe(expiresAt);
    else expect(map).toThrow(expect.objectContaining({ code: "poison_event" }));
  });

  it("refuses a bad expires_at as a KasmapError, so the consumer dead-letters it", () => {
    try {
      personalAccessTokenRow({ ...token, expires_at: "soon" });
    } catch (error) {
      expect(isKasmapError(error, "poison_event")).toBe(true);
    }
  });

  it("stores a job without environment as SQL NULL, not JSON null", () => {
    const job = {
      id: 1,
      project_id: 2,
      pipeline_id: 3,
      user_id: 4,
      ref: "main",
      ref_protected: null,
      status: "running" as const,
      token_sha256: sha256("j"),
      created_at: T0,
    };
    expect(jobRow({ ...job, environment: null }).environment).toBeNull();
    expect(jobRow({ ...job, environment: { name: "p", tier: "production", slug: "p" } }).environment).toBe(
      '{"name":"p","tier":"production","slug":"p"}',
    );
  });

  it("makes one authorization row per agent and target, config as JSON", () => {
    const rows = authorizationRows(7, {
      ci_access: { projects: [{ project_id: 1, config: {} }], groups: [{ group_id: 2, config: {} }] },
      user_access: { projects: [], groups: [{ group_id: 3, config: { access_as: { agent: {} } } }] },
    });
    expect(rows).toEqual({
      ciAccessProjects: [{ agent_id: 7, project_id: 1, config: "{}" }],
      ciAccessGroups: [{ agent_id: 7, group_id: 2, config: "{}" }],
      userAccessProjects: [],
      userAccessGroups: [{ agent_id: 7, group_id: 3, config: '{"access_as":{"agent":{}}}' }],
    });
  });

  it("takes a snapshot's observed_at from the facts and its order from the stream", () => {
    const facts = buildClusterFacts({ observed_at: "2026-05-01T10:00:00.000Z" });
    const row = snapshotRow({ agent_id: 7, content_hash: sha256("c"), cluster: facts }, 42);
    expect(row).toMatchObject({ agent_id: 7, observed_at: "2026-05-01T10:00:00.000Z", stream_seq: 42 });
    expect(JSON.parse(row.cluster)).toEqual(facts);
  });

  it("takes the last connection time from the heartbeat's sent_at", () => {
    const data = { agent_id: 7, collector_id: "c", content_hash: null, sent_at: T0 };
    expect(connectionRow(data)).toEqual({
      agent_id: 7,
      collector_id: "c",
      last_heartbeat_at: T0,
      content_hash: null,
    });
  });
});
