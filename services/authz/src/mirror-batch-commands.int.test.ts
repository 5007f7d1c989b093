import {
  type AuthzCommandRequest,
  type AuthzCommandResult,
  isKasmapError,
  type KasmapEvent,
  MIRROR_BATCH_MAX_BYTES,
  MIRROR_BATCH_MAX_ITEMS,
  MIRROR_REFUSAL_CODES,
} from "@kasmap/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthzTestEnvironment, startAuthzTestEnvironment } from "./testing/authz-test-environment.ts";
import { mirrorAgentWithConfig } from "./testing/mirrored-agent.ts";
import { eventsOf } from "./testing/stream-events.ts";

// Two worlds fed the same GitLab state: one through the single puts (as hooks send them), the
// other through the batch puts (as the full reconcile sends them). A batch must publish exactly
// what the single puts publish, entity by entity.
type MirrorGroup = AuthzCommandRequest<"mirror.group.put">;
type MirrorProject = AuthzCommandRequest<"mirror.project.put">;
type Step = { groups?: MirrorGroup[]; projects?: MirrorProject[] };

const G = { root: 9001, operators: 9002, developers: 9003, staging: 9100, later: 9200 };
const P = { agentProject: 8001, feature: 8002, fresh: 8003, named: 8004, other: 8005 };
const AGENT = 177;
const CREATED = "2024-05-01T10:00:00.000Z";
// Names a group and a project that are mirrored only after the config (GitLab lists by id).
const CONFIG =
  "ci_access:\n  groups:\n    - id: Root-Group/Developers\n    - id: Root-Group/Later\n  projects:\n    - id: Root-Group/Developers/Named\n";

const group = (id: number, path: string, parent_id: number | null, description: string | null = null) => ({
  id,
  name: path,
  path,
  description,
  parent_id,
  created_at: CREATED,
});
const project = (
  id: number,
  path: string,
  namespace: { id: number; path: string },
  description: string | null = null,
): MirrorProject => ({
  id,
  name: path,
  path,
  description,
  namespace: { ...namespace, kind: "group", name: namespace.path },
  created_at: CREATED,
});
const ROOT = { id: G.root, path: "Root-Group" };
const DEVELOPERS = { id: G.developers, path: "Developers" };
const OPERATORS = { id: G.operators, path: "Operators" };
const STAGING = { id: G.staging, path: "Staging" };

/** GitLab after some edits: a group renamed, a project moved, one described, one new, two unchanged. */
const EDITS: Step = {
  groups: [group(G.root, "Root-Group", null), group(G.developers, "Devs", G.root, "renamed")],
  projects: [
    project(P.feature, "Feature", STAGING),
    project(P.agentProject, "Agent-Project", OPERATORS, "now described"),
    project(P.other, "Other", { id: G.developers, path: "Devs" }),
    project(P.fresh, "Fresh", ROOT),
  ],
};

let singles: AuthzTestEnvironment;
let batched: AuthzTestEnvironment;

/** What a subscriber sees of the events: no envelope ids or times, no per-world subject root. */
function comparable(env: AuthzTestEnvironment, events: { registry: KasmapEvent[]; authz: KasmapEvent[] }) {
  const root = env.bus.topology.root;
  return [...events.registry, ...events.authz].map((event) => ({
    type: event.type,
    subject: event.subject.slice(root.length),
    data: event.data,
  }));
}

/** The single puts of `step`, skipping what they refuse for good (as the sync does). */
async function putOneByOne(step: Step): Promise<void> {
  const refusedForGood = (error: unknown) => {
    if (!MIRROR_REFUSAL_CODES.some((code) => isKasmapError(error, code))) throw error;
  };
  for (const g of step.groups ?? []) await singles.command("mirror.group.put", g).catch(refusedForGood);
  for (const p of step.projects ?? []) await singles.command("mirror.project.put", p).catch(refusedForGood);
}

/**
 * Puts `step` into both worlds, one by one and in batches, expects the same events from both,
 * and returns the batch results (groups first) with those events.
 */
async function putBothWays(step: Step) {
  const single = await eventsOf(singles.bus, () => putOneByOne(step));
  const results: Array<AuthzCommandResult<"mirror.groups.put">> = [];
  const batch = await eventsOf(batched.bus, async () => {
    if (step.groups)
      results.push((await batched.command("mirror.groups.put", { groups: step.groups })).result);
    if (step.projects) {
      results.push((await batched.command("mirror.projects.put", { projects: step.projects })).result);
    }
  });
  expect(comparable(batched, batch)).toEqual(comparable(singles, single));
  return { results, events: batch };
}

/** Runs `action` in both worlds (what both take the same way, e.g. agents). */
async function inBothWorlds(action: (env: AuthzTestEnvironment) => Promise<unknown>): Promise<void> {
  await action(singles);
  await action(batched);
}

beforeAll(async () => {
  [singles, batched] = await Promise.all([startAuthzTestEnvironment(), startAuthzTestEnvironment()]);
});

afterAll(async () => {
  await Promise.all([singles?.close(), batched?.close()]);
});

describe("mirror batch puts", () => {
  it("a first sync's batches of new groups and projects publish what their single puts publish", async () => {
    const top = await putBothWays({
      groups: [group(G.root, "Root-Group", null), group(G.staging, "Staging", null)],
    });
    expect(top.results).toEqual([{ changed: [G.root, G.staging], refused: [] }]);
    const below = await putBothWays({
      groups: [group(G.operators, "Operators", G.root), group(G.developers, "Developers", G.root)],
      projects: [
        project(P.agentProject, "Agent-Project", OPERATORS),
        project(P.feature, "Feature", DEVELOPERS),
      ],
    });
    expect(below.results).toEqual([
      { changed: [G.operators, G.developers], refused: [] },
      { changed: [P.agentProject, P.feature], refused: [] },
    ]);
    expect(below.events.registry).toHaveLength(4);
  });

  it("new groups and projects an agent's config names re-resolve that agent as their single puts do", async () => {
    const agent = { id: AGENT, project_id: P.agentProject, name: "prod", created_at: CREATED };
    await inBothWorlds((env) => mirrorAgentWithConfig(env, agent, CONFIG));
    const { results, events } = await putBothWays({
      groups: [group(G.later, "Later", G.root)],
      projects: [project(P.named, "Named", DEVELOPERS), project(P.other, "Other", DEVELOPERS)],
    });
    expect(results).toEqual([
      { changed: [G.later], refused: [] },
      { changed: [P.named, P.other], refused: [] },
    ]);
    expect(events.authz.map((e) => (e.data as { cause: string }).cause)).toEqual([
      "registry_changed",
      "registry_changed",
    ]);
  });

  it("a batch of renames, moves and edits publishes what the single puts publish, nothing for the unchanged", async () => {
    const { results, events } = await putBothWays(EDITS);
    expect(results).toEqual([
      { changed: [G.developers], refused: [] },
      { changed: [P.feature, P.agentProject, P.fresh], refused: [] },
    ]);
    expect(events.authz.map((e) => (e.data as { cause: string }).cause)).toContain("group_moved");
  });

  it("the same batch again publishes nothing and reports nothing changed", async () => {
    const { results, events } = await putBothWays(EDITS);
    expect(results).toEqual([
      { changed: [], refused: [] },
      { changed: [], refused: [] },
    ]);
    expect(events).toEqual({ registry: [], authz: [] });
  });

  it("refuses only what the single puts refuse, with their reasons, and puts the rest", async () => {
    const { results } = await putBothWays({
      groups: [group(9300, "Orphan", 123456), group(9301, "Staging", null), group(9302, "Kept", null)],
      projects: [
        project(8100, "Nowhere", { id: 123456, path: "nowhere" }),
        project(8101, "Fresh", ROOT),
        project(8102, "Kept", ROOT),
      ],
    });
    expect(results).toEqual([
      {
        changed: [9302],
        refused: [
          { id: 9300, code: "not_found", message: "Group" },
          { id: 9301, code: "validation_failed", message: "path has already been taken" },
        ],
      },
      {
        changed: [8102],
        refused: [
          { id: 8100, code: "not_found", message: "Namespace" },
          { id: 8101, code: "validation_failed", message: "path has already been taken" },
        ],
      },
    ]);
    const stored = await batched.db
      .selectFrom("authz.projects")
      .select("id")
      .where("id", "in", [8100, 8101, 8102])
      .execute();
    expect(stored).toEqual([{ id: 8102 }]);
  });

  it("refuses a malformed or oversized batch as a whole, saying why", async () => {
    const many = Array.from({ length: MIRROR_BATCH_MAX_ITEMS + 1 }, (_, i) =>
      project(20_000 + i, `p${i}`, ROOT),
    );
    const tooMany = await batched.refusal("mirror.projects.put", { projects: many });
    expect(tooMany.code).toBe("validation_failed");
    expect(tooMany.fields?.projects?.join()).toContain(String(MIRROR_BATCH_MAX_ITEMS));

    const twice = await batched.refusal("mirror.groups.put", {
      groups: [group(9400, "a", null), group(9400, "b", null)],
    });
    expect(twice.fields?.groups).toEqual(["ids must be distinct within a batch"]);

    const long = "x".repeat(MIRROR_BATCH_MAX_BYTES / 2);
    const large = await batched.refusal("mirror.projects.put", {
      projects: [project(20_500, "big-1", ROOT, long), project(20_501, "big-2", ROOT, long)],
    });
    expect(large.fields?.body).toEqual([`a batch holds at most ${MIRROR_BATCH_MAX_BYTES} bytes of JSON`]);

    expect((await batched.refusal("mirror.groups.put", { groups: [] })).code).toBe("validation_failed");
    const none = await batched.db
      .selectFrom("authz.projects")
      .select("id")
      .where("id", ">=", 20_000)
      .execute();
    expect(none).toEqual([]);
  });
});
