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
/** An agent with two collectors whose heartbeats wait unread (`connections` while `unknown`). */
const LAGGING = 403;
const ids: readonly number[] = Object.values(AGENT);
const STALE = () => new Date(Date.now() - CONNECTED_WITHIN_MS - 60_000);

beforeAll(async () => {
  await insertAgent(f.db, AGENT.live, "live");
  await insertAgent(f.db, AGENT.confirmed, "silent");
  await insertAgent(f.db, AGENT.behind, "unread");
  for (const id of Object.values(AGENT)) await insertSnapshot(f.db, id, `cluster-${id}`);
  await insertHeartbeat(f.db, AGENT.live, new Date());
  await insertHeartbeat(f.db, AGENT.confirmed, STALE(), new Date());
  await insertHeartbeat(f.db, AGENT.behind, STALE());

  await insertAgent(f.db, LAGGING, "lagging");
  await insertSnapshot(f.db, LAGGING, `cluster-${LAGGING}`);
  const last = STALE();
  await insertHeartbeat(f.db, LAGGING, last);
  // agentk-a beat until the agent was last heard from; agentk-b went silent 4 minutes before.
  const collectors = [
    { collector_id: "agentk-a", pod_ip: "10.244.0.10", heartbeat: last },
    { collector_id: "agentk-b", pod_ip: "10.244.0.11", heartbeat: new Date(last.getTime() - 4 * 60_000) },
  ];
  await f.db
    .insertInto("read_model.collector_connections")
    .values(
      collectors.map((c) => ({
        agent_id: LAGGING,
        collector_id: c.collector_id,
        pod_name: c.collector_id,
        pod_ip: c.pod_ip,
        namespace: "gitlab-agent",
        node: "node-0",
        version: "0.1.0",
        commit: null,
        connected_at: new Date(last.getTime() - 3_600_000),
        last_heartbeat_at: c.heartbeat,
        stopped_at: null,
      })),
    )
    .execute();
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
    const id = Number(cells[columns.indexOf("agent_id")]);
    if (ids.includes(id)) inventory[id] = cells[columns.indexOf("deployment_status")];
  }
  return {
    list: Object.fromEntries(
      list.filter((a) => ids.includes(a.id)).map((a) => [a.id, a.cluster_info?.deployment_status]),
    ),
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

describe("connections of an agent whose status is unknown", () => {
  type Info = {
    deployment_status: string;
    agent_pod_ip: string | null;
    connections: Array<{ collector_id: string }>;
  };

  /** `cluster_info` of the lagging agent as the single read (twice: the hot, cached path) and the route of its own show it. */
  async function infos(): Promise<Info[]> {
    const token = { token: TOKENS.developer };
    const read = async () =>
      (
        (await (await f.call(`${agents}/${LAGGING}?with_cluster_info=true`, token)).json()) as {
          cluster_info: Info;
        }
      ).cluster_info;
    const alone = (await (await f.call(`${agents}/${LAGGING}/cluster_info`, token)).json()) as Info;
    return [await read(), await read(), alone];
  }
  const summary = (info: Info) => ({
    status: info.deployment_status,
    pod_ip: info.agent_pod_ip,
    connections: info.connections.map((c) => c.collector_id),
  });

  it("lists the collectors live when the agent was last heard from until the silence is confirmed", async () => {
    // Every applied heartbeat is over 3 minutes old, but newer ones may wait unread: the list is
    // the one at the last heartbeat (agentk-b had gone silent long before), not an empty one.
    for (const info of await infos())
      expect(summary(info)).toEqual({ status: "unknown", pod_ip: "10.244.0.10", connections: ["agentk-a"] });

    await f.db
      .updateTable("read_model.agent_connections")
      .set({ disconnected_reported_at: new Date() })
      .where("agent_id", "=", LAGGING)
      .execute();
    f.bus.nc.publish(
      f.bus.topology.subjects.readModelChanged("agent_connections"),
      JSON.stringify({ table: "agent_connections", agent_id: LAGGING, stream: "X", seq: 2 }),
    );
    await eventually(async () => {
      const all = (await infos()).map(summary);
      return all.every((s) => s.status === "disconnected" && s.connections.length === 0) ? all : undefined;
    }, "the confirmed silence empties the list");
  });
});
