import { EVENT_TYPES, type KasmapEvent } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";
import { eventsOf } from "./testing/stream-events.ts";

/**
 * An agent that leaves the mirror and comes back, twice: each deletion is numbered, and both of
 * its records — the agent with `deleted_at` (registry stream) and its `agent_deleted` grant set
 * (authz stream) — carry the number, by which the projection pairs them (the records' times come
 * from the clock of whichever authz host handled the deletion).
 */
const env = authzTestEnvironmentForFile();
const GROUP = 9301;
const PROJECT = 8301;
const AGENT = 301;
const CREATED = "2024-05-01T10:00:00.000Z";

const putAgent = () =>
  env.command("mirror.agent.put", { id: AGENT, project_id: PROJECT, name: "returning", created_at: CREATED });

beforeAll(async () => {
  await env.command("mirror.group.put", {
    id: GROUP,
    name: "Returns",
    path: "returns",
    description: null,
    parent_id: null,
    created_at: CREATED,
  });
  await env.command("mirror.project.put", {
    id: PROJECT,
    name: "Agent-Project",
    path: "agent-project",
    description: null,
    namespace: { id: GROUP, kind: "group", path: "returns", name: "Returns" },
    created_at: CREATED,
  });
  await putAgent();
});

function agentRecord(events: readonly KasmapEvent[]): Record<string, unknown> | undefined {
  const event = events.find((e) => e.type === EVENT_TYPES.agentChanged);
  return event?.type === EVENT_TYPES.agentChanged ? event.data.agent : undefined;
}

describe("an agent deleted and brought back", () => {
  it("numbers each deletion on both of its records, and its return carries none", async () => {
    for (const deletion of [1, 2]) {
      const removed = await eventsOf(env.bus, () =>
        env.command("mirror.remove", { kind: "agent", id: AGENT }),
      );
      const agent = agentRecord(removed.registry);
      expect(agent).toMatchObject({ id: AGENT, deleted_at: expect.any(String), deletion });
      const cleared = removed.authz.find(
        (e) => e.type === EVENT_TYPES.authzChanged && e.data.cause === "agent_deleted",
      );
      expect(cleared?.data).toMatchObject({ agent_id: AGENT, deletion });
      expect(cleared?.time).toBe(agent?.deleted_at);

      const back = await eventsOf(env.bus, putAgent);
      expect(agentRecord(back.registry)).toEqual(expect.objectContaining({ deleted_at: null }));
      expect(agentRecord(back.registry)).not.toHaveProperty("deletion");
    }
  });
});
