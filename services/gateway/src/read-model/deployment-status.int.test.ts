import { CONNECTED_WITHIN_MS } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import {
  gatewayFixtureForFile,
  insertAgent,
  insertHeartbeat,
  insertSnapshot,
  PROJECT,
  ROOT_GROUP,
  TOKENS,
} from "../testing/gateway-fixture.ts";

/**
 * `deployment_status` of an agent whose last heartbeat is older than 3 minutes: `disconnected`
 * only once the projection confirmed the silence (`disconnected_reported_at`), `unknown` before
 * (its newer heartbeats may wait unread), on every surface that shows it. Rows are inserted as
 * the projection would write them; the notice is the one its disconnection sweep publishes.
 */
const f = gatewayFixtureForFile();
const agents = `/api/v4/projects/${PROJECT}/cluster_agents`;
const AGENT = { live: 400, confirmed: 401, behind: 402 } as const;
const STALE = () => new Date(Date.now() - CONNECTED_WITHIN_MS - 60_000);

beforeAll(async () => {
  await insertAgent(f.db, AGENT.live, "live");
  await insertAgent(f.db, AGENT.confirmed, "silent");
  await insertAgent(f.db, AGENT.behind, "unread");
  for (const id of Object.values(AGENT)) await insertSnapshot(f.db, id, `cluster-${id}`);
  await insertHeartbeat(f.db, AGENT.live, new Date());
  await insertHeartbeat(f.db, AGENT.confirmed, STALE(), new Date());
  await insertHeartbeat(f.db, AGENT.behind, STALE());
});

type Statuses = Record<number, string | undefined>;

/** The status of each agent as the agent list, the single read (twice: the hot, cached path), `cluster_info` alone and the inventory CSV show it. */
async function statusesEverywhere(): Promise<Record<string, Statuses>> {
  const token = { token: TOKENS.developer };
  const list = (await (await f.call(`${agents}?with_cluster_info=true`, token)).json()) as Array<{
    id: number;
    cluster_info: { deployment_status: string } | null;
  }>;
  const single: Statuses = {};
  const cached: Statuses = {};
  const alone: Statuses = {};
  for (const id of Object.values(AGENT)) {
    const read = async () =>
      (
        (await (await f.call(`${agents}/${id}?with_cluster_info=true`, token)).json()) as {
          cluster_info: { deployment_status: string };
        }
      ).cluster_info.deployment_status;
    single[id] = await read();
    cached[id] = await read();
    const info = (await (await f.call(`${agents}/${id}/cluster_info`, token)).json()) as {
      deployment_status: string;
    };
    alone[id] = info.deployment_status;
  }
  const csv = await (
    await f.call(`/api/v4/groups/${ROOT_GROUP}/cluster_agents?include_subgroups=true`, {
      ...token,
      headers: { accept: "text/csv" },
    })
  ).text();
  const [header, ...records] = csv.trim().split(/\r?\n/);
  const columns = (header ?? "").split(",");
  const inventory: Statuses = {};
  for (const record of records) {
    const cells = record.split(",");
    inventory[Number(cells[columns.indexOf("agent_id")])] = cells[columns.indexOf("deployment_status")];
  }
  return {
    list: Object.fromEntries(list.map((a) => [a.id, a.cluster_info?.deployment_status])),
    single,
    cached,
    alone,
    inventory,
  };
}

function everywhere(statuses: Statuses): Record<string, Statuses> {
  return { list: statuses, single: statuses, cached: statuses, alone: statuses, inventory: statuses };
}

describe("deployment_status of a silence the projection has confirmed or not", () => {
  it("is unknown until the projection confirms the silence, then disconnected, on every surface", async () => {
    expect(await statusesEverywhere()).toEqual(
      everywhere({ [AGENT.live]: "connected", [AGENT.confirmed]: "disconnected", [AGENT.behind]: "unknown" }),
    );

    // The projection read the agent's heartbeats and found none newer: its sweep marks the
    // silence and publishes the notice.
    await f.db
      .updateTable("read_model.agent_connections")
      .set({ disconnected_reported_at: new Date() })
      .where("agent_id", "=", AGENT.behind)
      .execute();
    f.bus.nc.publish(
      f.bus.topology.subjects.readModelChanged("agent_connections"),
      JSON.stringify({ table: "agent_connections", agent_id: AGENT.behind, stream: "X", seq: 1 }),
    );

    const expected = everywhere({
      [AGENT.live]: "connected",
      [AGENT.confirmed]: "disconnected",
      [AGENT.behind]: "disconnected",
    });
    await eventually(async () => {
      const statuses = await statusesEverywhere();
      return JSON.stringify(statuses) === JSON.stringify(expected) ? true : undefined;
    }, "the confirmed silence on every surface");
  });
});
