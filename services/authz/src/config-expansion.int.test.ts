import type { KasmapError } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * Issue 7.3: a config under 256 KiB can still expand, through YAML aliases, into grants too
 * large for one event. Such grants are refused with `payload_too_large` before anything is
 * stored — whether the file arrives that way or a later move makes its entries resolve — so
 * no unpublishable event is ever committed and the outbox keeps flowing.
 */
const env = authzTestEnvironmentForFile();
const ids = { actor: 0, acme: 0, elsewhere: 0, src: 0, configProject: 0, agent: 0 };
const TARGETS = 50;

beforeAll(async () => {
  ids.actor = env.adminId;
  const group = async (path: string, parent_id: number | null = null) =>
    (await env.command("group.create", { actor_user_id: ids.actor, name: path, path, parent_id })).result.id;
  ids.acme = await group("acme");
  ids.elsewhere = await group("elsewhere");
  ids.src = await group("src", ids.elsewhere);
  for (let i = 0; i < TARGETS; i++) {
    await env.command("project.create", {
      actor_user_id: ids.actor,
      name: `p${i}`,
      path: `p${i}`,
      namespace_id: ids.src,
    });
  }
  const project = await env.command("project.create", {
    actor_user_id: ids.actor,
    name: "agents",
    path: "agents",
    namespace_id: ids.acme,
  });
  ids.configProject = project.result.id;
  const agent = await env.command("agent.create", {
    actor_user_id: ids.actor,
    project_id: ids.configProject,
    name: "prod",
  });
  ids.agent = agent.result.id;
});

/** 50 entries under `root/src/`, each sharing one ~24 KB environment list through an alias. */
function expandingConfig(root: string): string {
  const environments = Array.from({ length: 800 }, (_, i) => `env-${i}-${"e".repeat(20)}`);
  const entries = Array.from(
    { length: TARGETS },
    (_, i) => `    - {id: ${root}/src/p${i}, environments: *envs}`,
  );
  return [`shared: &envs [${environments.join(", ")}]`, "ci_access:", "  projects:", ...entries, ""].join(
    "\n",
  );
}

const put = (yaml: string) =>
  env.command("agent_config.put", {
    actor_user_id: ids.actor,
    project_id: ids.configProject,
    agent_id: ids.agent,
    yaml,
  });

async function storedGrantCount(): Promise<number> {
  const row = await env.storedAgentConfig(ids.agent);
  return row?.grants.ci_access.projects.length ?? 0;
}

async function unpublishedRows(): Promise<number> {
  const status = await env.service.outboxStatus();
  return status.pending + status.set_aside;
}

/** A move refused for the agent's grants, before anything was stored or queued for publishing. */
async function expectMoveRefused(refusal: Promise<KasmapError>): Promise<void> {
  expect(await refusal).toMatchObject({
    code: "payload_too_large",
    message: expect.stringContaining(`agent ${ids.agent}'s configuration`),
  });
  expect(await storedGrantCount()).toBe(0);
  expect(await unpublishedRows()).toBe(0);
}

describe("configs that expand past one event", () => {
  it("refuse the move of the configuration project that would make their entries resolve", async () => {
    const yaml = expandingConfig("elsewhere");
    expect(Buffer.byteLength(yaml)).toBeLessThan(32 * 1024);
    // The agent's project is in acme and elsewhere/src in another root: everything is dropped.
    const accepted = await put(yaml);
    expect(accepted.result).toMatchObject({ dropped_count: TARGETS, ci_access: { projects: 0 } });

    await expectMoveRefused(
      env.refusal("project.transfer", {
        actor_user_id: ids.actor,
        project_id: ids.configProject,
        namespace_id: ids.elsewhere,
      }),
    );
  });

  it("refuse the move that would make their entries resolve, naming the agent", async () => {
    await put(expandingConfig("acme"));
    expect(await storedGrantCount()).toBe(0);
    await expectMoveRefused(
      env.refusal("group.transfer", { actor_user_id: ids.actor, group_id: ids.src, parent_id: ids.acme }),
    );
    // Without the aliases the same move goes through and the grants follow it.
    await put(expandingConfig("acme").replace(/environments: \*envs/g, "environments: [prod]"));
    await env.command("group.transfer", { actor_user_id: ids.actor, group_id: ids.src, parent_id: ids.acme });
    expect(await storedGrantCount()).toBe(TARGETS);
  });

  it("are refused when the file itself resolves at once", async () => {
    const refused = await env.refusal("agent_config.put", {
      actor_user_id: ids.actor,
      project_id: ids.configProject,
      agent_id: ids.agent,
      yaml: expandingConfig("acme"),
    });
    expect(refused).toMatchObject({
      code: "payload_too_large",
      message: expect.stringMatching(/resolves to do not fit in one event.*max_payload/),
    });
    expect(await storedGrantCount()).toBe(TARGETS);
    expect(await unpublishedRows()).toBe(0);
  });
});
