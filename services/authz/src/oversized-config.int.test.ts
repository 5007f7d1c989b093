import { EVENT_TYPES, KasmapEventSchema } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuthzTestEnvironment, authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * Issue 7.3 and the config inputs of 7.12: configs large enough to produce a reply or an event
 * over NATS `max_payload` (1 MiB on the test server), or more rows than one PostgreSQL
 * statement takes (65,535 parameters), must never take authz down or leave it unable to work.
 */
const env = authzTestEnvironmentForFile();
let ids: Awaited<ReturnType<AuthzTestEnvironment["registerAgent"]>>;

beforeAll(async () => {
  ids = await env.registerAgent();
});

const put = (yaml: string) =>
  env.command("agent_config.put", {
    actor_user_id: ids.actor_user_id,
    project_id: ids.project_id,
    agent_id: ids.agent_id,
    yaml,
  });

const refusePut = (yaml: string) =>
  env.refusal("agent_config.put", {
    actor_user_id: ids.actor_user_id,
    project_id: ids.project_id,
    agent_id: ids.agent_id,
    yaml,
  });

/** `count` distinct short paths (`<prefix>` + base 36, padded), in flow style to stay small. */
function flowEntries(count: number, prefix: string): string {
  const entries = Array.from(
    { length: count },
    (_, i) => `{id: ${prefix}${i.toString(36).padStart(3, "0")}}`,
  );
  return `[${entries.join(",")}]`;
}

/** A later command still works and its event reaches the stream. */
async function laterCommandReachesTheStream(path: string): Promise<void> {
  const group = await env.command("group.create", { actor_user_id: ids.actor_user_id, name: path, path });
  const [position] = group.positions;
  expect(position?.stream).toBe(env.bus.topology.streamNames.registry);
  const stored = await env.bus.jsm.streams.getMessage(position?.stream ?? "", { seq: position?.seq ?? 0 });
  expect(KasmapEventSchema.parse(stored?.json())).toMatchObject({
    type: EVENT_TYPES.groupChanged,
    data: { group: { id: group.result.id } },
  });
}

/** The latest authz.changed event of the test agent on the stream. */
async function latestAuthzEvent() {
  const stream = env.bus.topology.streamNames.authz;
  const info = await env.bus.jsm.streams.info(stream);
  for (let seq = info.state.last_seq; seq >= info.state.first_seq; seq--) {
    const event = KasmapEventSchema.parse((await env.bus.jsm.streams.getMessage(stream, { seq }))?.json());
    if (event.type === EVENT_TYPES.authzChanged && event.data.agent_id === ids.agent_id) return event;
  }
  throw new Error("no authz.changed event for the test agent");
}

describe("oversized agent configs", () => {
  it("a 20,000-entry config: authz stays up, reply and event carry the dropped count and the first 100", async () => {
    const yaml = `ci_access:\n  projects: ${flowEntries(10_000, "g/x")}\n  groups: ${flowEntries(10_000, "x")}\n`;
    expect(Buffer.byteLength(yaml)).toBeLessThan(256 * 1024);

    const outcome = await put(yaml);

    // GitLab's rule: 500 per list count (none resolves here), the other 9,500 are over-limit.
    expect(outcome.result).toMatchObject({ ci_access: { projects: 0, groups: 0 }, dropped_count: 20_000 });
    expect(outcome.result.dropped).toHaveLength(100);
    expect(outcome.result.dropped[0]).toEqual({
      access: "ci_access",
      target_type: "project",
      path: "g/x000",
      reason: "not-found",
    });
    const event = await latestAuthzEvent();
    expect(event.data).toMatchObject({ cause: "config_changed", dropped_count: 20_000 });
    expect(event.data.dropped).toHaveLength(100);
    await laterCommandReachesTheStream("after-twenty-thousand");
  });

  it("a config naming 22,000 distinct paths under the byte limit is applied (more rows than one statement takes)", async () => {
    const yaml = `ci_access:\n  projects: ${flowEntries(11_000, "p/")}\n  groups: ${flowEntries(11_000, "x")}\n`;
    expect(Buffer.byteLength(yaml)).toBeLessThan(256 * 1024);
    const outcome = await put(yaml);
    expect(outcome.result.dropped_count).toBe(22_000);
    await laterCommandReachesTheStream("after-twenty-two-thousand");
  });

  it("refuses a config over the byte limit, naming the limit, and keeps the previous grants", async () => {
    await put("ci_access:\n  projects:\n    - id: g/p\n");
    const padding = `# ${"x".repeat(300 * 1024)}\n`;
    const refused = await refusePut(`${padding}ci_access:\n  groups:\n    - id: g\n`);
    expect(refused.code).toBe("payload_too_large");
    expect(refused.httpStatus).toBe(413);
    expect(refused.message).toContain("262144 bytes");
    expect((await env.storedAgentConfig(ids.agent_id))?.grants.ci_access).toEqual({
      projects: [{ project_id: ids.project_id, config: {} }],
      groups: [],
    });
  });

  it("refuses a config with more than 65,535 paths with a 4xx, not an internal error", async () => {
    const refused = await refusePut(`ci_access:\n  groups: ${flowEntries(65_536, "x")}\n`);
    expect(refused.httpStatus).toBeGreaterThanOrEqual(400);
    expect(refused.httpStatus).toBeLessThan(500);
    expect(refused.message).toMatch(/limit/);
    await laterCommandReachesTheStream("after-sixty-five-thousand");
  });

  it("refuses a YAML alias bomb as an invalid config", async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let level = 0; level < 9; level++) {
      const previous = level === 0 ? "a" : `b${level - 1}`;
      lines.push(`b${level}: &b${level} [${Array(10).fill(`*${previous}`).join(",")}]`);
    }
    const refused = await refusePut(`${lines.join("\n")}\nci_access: {}\n`);
    expect(refused.code).toBe("validation_failed");
    expect(JSON.stringify(refused.fields)).toMatch(/alias/i);
  });

  it("with on_refusal record (GitLab mode), records a refused file as an event and keeps the previous grants", async () => {
    await put("ci_access:\n  projects:\n    - id: g/p\n");
    const record = (yaml: string) =>
      env.command("agent_config.put", {
        actor_user_id: ids.actor_user_id,
        project_id: ids.project_id,
        agent_id: ids.agent_id,
        yaml,
        on_refusal: "record",
      });
    const oversized = await record(`# ${"x".repeat(300 * 1024)}\nci_access: {}\n`);
    expect(oversized.result).toMatchObject({
      ci_access: { projects: 1, groups: 0 },
      refusal: { code: "payload_too_large", message: expect.stringContaining("262144 bytes") },
    });
    expect(oversized.positions).toHaveLength(1);
    const event = await latestAuthzEvent();
    expect(event.data).toMatchObject({
      cause: "config_refused",
      added: [],
      removed: [],
      grants: { ci_access: { projects: [{ project_id: ids.project_id }] } },
      refusal: { code: "payload_too_large" },
    });

    const invalid = await record("ci_access:\n  projects:\n    - id: g/p\n      access_as: {}\n");
    expect(invalid.result.refusal).toMatchObject({ code: "validation_failed" });
    expect(invalid.result.ci_access.projects).toBe(1);

    // Not a refusal of the file: a missing agent is still an error.
    const missing = await env.refusal("agent_config.put", {
      actor_user_id: ids.actor_user_id,
      project_id: ids.project_id,
      agent_id: 999_999,
      yaml: "ci_access: {}\n",
      on_refusal: "record",
    });
    expect(missing.code).toBe("not_found");
  });

  it("reports only the first 100 problems of a file with 9,000 invalid entries", async () => {
    const entries = Array.from({ length: 9_000 }, () => "{id: g/p, access_as: {}}").join(",");
    const refused = await refusePut(`ci_access:\n  projects: [${entries}]\n`);
    expect(refused.code).toBe("validation_failed");
    const problems = Object.values(refused.fields ?? {}).flat();
    expect(problems).toHaveLength(101);
    expect(problems.at(-1)).toBe("and 8900 more problems");
  });

  it("keeps each reported problem short, even when aliases repeat a long key into every entry", async () => {
    const entries = Array.from({ length: 99 }, () => "    - {id: g/p, access_as: {*long : {}}}");
    const yaml = [`long: &long "${"k".repeat(100_000)}"`, "ci_access:", "  projects:", ...entries, ""].join(
      "\n",
    );
    expect(Buffer.byteLength(yaml)).toBeLessThan(256 * 1024);
    const refused = await refusePut(yaml);
    expect(refused.code).toBe("validation_failed");
    const reply = JSON.stringify(refused.fields);
    expect(reply.length).toBeLessThan(64 * 1024);
    expect(reply).toContain("unknown access mode");
  });
});
