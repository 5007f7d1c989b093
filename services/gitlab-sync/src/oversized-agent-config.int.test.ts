import type { ReadModelDatabase } from "@kasmap/db";
import {
  addAgentProjectHierarchy,
  type GitLabSimulator,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MirroredSystem, startMirroredSystem } from "./testing/mirrored-system.ts";

/**
 * An agent config file over 256 KiB in a mirrored project (any Developer can push one) is
 * refused as KAS refuses a file over its limit: recorded as `config_refused`, the previous
 * grants kept; so is one within 256 KiB whose request JSON-escaping puts over NATS max_payload. It never stops the full reconcile (which goes on and sweeps) nor the hook inbox
 * (later hooks are applied). Against the GitLab simulator and the whole system.
 */
const HOOK_SECRET = "oversized-config-hook-secret";
const CONFIG_PATH = ".gitlab/agents/prod/config.yaml";
const GRANTING_CONFIG = "ci_access:\n  groups:\n    - id: root-group/developers\n";
/** 1.5 MiB: over NATS max_payload (1 MiB) as well as the 256 KiB limit. */
const OVERSIZED_CONFIG = `# ${"x".repeat(1_572_864)}\n${GRANTING_CONFIG}`;
const OVERSIZED_BYTES = Buffer.byteLength(OVERSIZED_CONFIG);

let gitlab: GitLabSimulator;
let mirrored: MirroredSystem;
let readModel: Kysely<ReadModelDatabase>;
const ids = { developers: 0, agentProject: 0, agent: 0 };

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  const hierarchy = addAgentProjectHierarchy(gitlab);
  ids.developers = hierarchy.developers.id;
  ids.agentProject = hierarchy.agentProject.id;
  ids.agent = gitlab.addAgent(hierarchy.agentProject.id, "prod").id;
  gitlab.setFile(hierarchy.agentProject.id, CONFIG_PATH, GRANTING_CONFIG);
  mirrored = await startMirroredSystem(gitlab, { hookSecret: HOOK_SECRET, applicationName: "oversized" });
  readModel = mirrored.readModel;
}, 120_000);

afterAll(async () => {
  await mirrored?.stop();
  await gitlab?.close();
});

const reconcile = () => mirrored.sync().reconcileNow();

const developersGrant = (agentId = ids.agent) =>
  readModel
    .selectFrom("read_model.ci_access_group_authorizations")
    .selectAll()
    .where("agent_id", "=", agentId)
    .where("group_id", "=", ids.developers)
    .executeTakeFirst();

const projectRow = (id: number) =>
  readModel.selectFrom("read_model.projects").select(["id"]).where("id", "=", id).executeTakeFirst();

/** The agent's `config_refused` audit rows, oldest first. */
async function refusalsOf(agentId: number) {
  const rows = await readModel
    .selectFrom("read_model.audit_events")
    .select(["details"])
    .where("agent_id", "=", agentId)
    .orderBy("id")
    .execute();
  return rows
    .map((row) => row.details as { cause?: string; refusal?: { code: string; message: string } })
    .filter((details) => details.cause === "config_refused");
}

describe("an agent config file over 256 KiB", () => {
  it("is recorded as refused with its size, keeps the previous grants, and the reconcile completes and sweeps", async () => {
    expect(await reconcile()).toMatchObject({ completed: true, skipped: [] });
    await eventually(developersGrant, "the agent's ci_access from its first config");

    gitlab.setFile(ids.agentProject, CONFIG_PATH, OVERSIZED_CONFIG, { fireHooks: false });
    const doomed = gitlab.addProject({ path: "doomed", namespace_id: ids.developers }, { fireHooks: false });
    expect(await reconcile()).toMatchObject({ completed: true, skipped: [] });
    await eventually(() => projectRow(doomed.id), "the project the sweep will remove");
    const [refusal] = await eventually(
      async () => ((await refusalsOf(ids.agent)).length > 0 ? refusalsOf(ids.agent) : undefined),
      "the config_refused audit row",
    );
    expect(refusal?.refusal).toEqual({
      code: "payload_too_large",
      message: `agent configuration is ${OVERSIZED_BYTES} bytes; the limit is 262144 bytes (256 KiB)`,
    });
    expect(await developersGrant()).toBeDefined();

    // GitLab deletes a project without a hook: only a completed reconcile's sweep removes it.
    gitlab.deleteProject(doomed.id, { fireHooks: false });
    const swept = await reconcile();
    expect(swept).toMatchObject({ completed: true, removed: { projects: 1 } });
    await eventually(
      async () => ((await projectRow(doomed.id)) ? undefined : true),
      "the swept project gone",
    );
    // The same oversized file again publishes nothing; the grants it did not replace stay.
    expect(await refusalsOf(ids.agent)).toHaveLength(1);
    expect(await developersGrant()).toBeDefined();
  });

  it("that fits its 256 KiB but not NATS max_payload once encoded is recorded as refused saying so, by the reconcile and by a push", async () => {
    const escapes = gitlab.addAgent(ids.agentProject, "escapes", { fireHooks: false });
    const escapesConfig = ".gitlab/agents/escapes/config.yaml";
    gitlab.setFile(ids.agentProject, escapesConfig, GRANTING_CONFIG, { fireHooks: false });
    expect(await reconcile()).toMatchObject({ completed: true, skipped: [] });
    await eventually(() => developersGrant(escapes.id), "the agent's ci_access from its first config");

    // 200,000 control characters: 200 KB of file, 1.2 MB of JSON (each one is \u0001).
    const escaped = "\u0001".repeat(200_000);
    const requestBytes = JSON.stringify({ agent_id: escapes.id, yaml: escaped }).length;
    gitlab.setFile(ids.agentProject, escapesConfig, escaped, { fireHooks: false });
    const later = gitlab.addAgent(ids.agentProject, "later", { fireHooks: false });
    gitlab.setFile(ids.agentProject, ".gitlab/agents/later/config.yaml", GRANTING_CONFIG, {
      fireHooks: false,
    });
    expect(await reconcile()).toMatchObject({ completed: true, skipped: [] });
    const [refusal] = await eventually(
      async () => ((await refusalsOf(escapes.id)).length > 0 ? refusalsOf(escapes.id) : undefined),
      "the config_refused audit row",
    );
    expect(refusal?.refusal).toEqual({
      code: "payload_too_large",
      message:
        "agent configuration is 200000 bytes, within the 262144-byte (256 KiB) limit, but its mirror " +
        `request is ${requestBytes} bytes once JSON-encoded, over the 1048576-byte message limit ` +
        "of the NATS server (max_payload)",
    });
    expect(await developersGrant(escapes.id)).toBeDefined();
    await eventually(() => developersGrant(later.id), "the later agent mirrored");

    // The same file again publishes nothing; a push of another one goes the inbox's way.
    await reconcile();
    expect(await refusalsOf(escapes.id)).toHaveLength(1);
    gitlab.setFile(ids.agentProject, escapesConfig, "\u0002".repeat(200_001));
    await gitlab.flushHooks();
    const pushed = await eventually(async () => {
      const all = await refusalsOf(escapes.id);
      return all.length > 1 ? all : undefined;
    }, "the pushed file's refusal");
    expect(pushed.at(-1)?.refusal?.message).toMatch(
      /^agent configuration is 200001 bytes, within .*max_payload\)$/,
    );
    expect(await developersGrant(escapes.id)).toBeDefined();
    gitlab.removeAgent(escapes.id, { fireHooks: false });
    gitlab.removeAgent(later.id, { fireHooks: false });
  });

  it("pushed again and again never stops the hook inbox: a later hook is applied", async () => {
    // No reconcile in flight: only the hook can bring the new project.
    await reconcile();
    const before = (await refusalsOf(ids.agent)).length;
    // More pushes than the inbox consumer has deliveries in flight (16), each a new size.
    for (let i = 0; i < 20; i++) {
      gitlab.setFile(ids.agentProject, CONFIG_PATH, `${"#".repeat(i + 1)}${OVERSIZED_CONFIG}`);
    }
    await gitlab.flushHooks();
    const fresh = gitlab.addProject({ path: "fresh", namespace_id: ids.developers });
    await gitlab.flushHooks();
    await eventually(() => projectRow(fresh.id), "the project created after the pushes", 30_000);
    const refusals = await eventually(async () => {
      const all = await refusalsOf(ids.agent);
      return all.length > before ? all : undefined;
    }, "the pushed files' refusals");
    expect(refusals.at(-1)?.refusal?.code).toBe("payload_too_large");
    expect(await developersGrant()).toBeDefined();
  });
});
