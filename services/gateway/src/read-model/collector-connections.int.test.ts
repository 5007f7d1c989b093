import { describe, expect, it } from "vitest";
import { readModelForFile } from "../testing/read-model-for-file.ts";
import {
  liveConnections,
  loadCollectorConnections,
  loadConnectionsOfAgents,
  MAX_COLLECTOR_CONNECTIONS_READ,
} from "./collector-connections.ts";

const readModel = readModelForFile();

const AGENT = 7;

function connection(collectorId: string, lastHeartbeatAt: Date) {
  return {
    agent_id: AGENT,
    collector_id: collectorId,
    pod_name: collectorId,
    pod_ip: null,
    namespace: "gitlab-agent",
    node: null,
    version: null,
    commit: null,
    connected_at: lastHeartbeatAt,
    last_heartbeat_at: lastHeartbeatAt,
    stopped_at: null,
  };
}

describe("loadCollectorConnections", () => {
  it("reads a bounded number of an agent's collectors, and the live replicas are among them", async () => {
    const now = Date.now();
    // A year of rolling updates (or a collector inventing ids): 500 pods long gone...
    const gone = Array.from({ length: 500 }, (_, i) =>
      connection(`old-pod-${i}`, new Date(now - 3_600_000 - i * 60_000)),
    );
    // ...and the two replicas running now.
    const live = [
      connection("agentk-a", new Date(now - 1_000)),
      connection("agentk-b", new Date(now - 2_000)),
    ];
    await readModel.db
      .insertInto("read_model.collector_connections")
      .values([...gone, ...live])
      .execute();

    const rows = await loadCollectorConnections(readModel.db, AGENT);
    expect(rows).toHaveLength(MAX_COLLECTOR_CONNECTIONS_READ);
    expect(liveConnections(rows, now).map((c) => c.collector_id)).toEqual(["agentk-a", "agentk-b"]);
  });

  it("gives, in one query with the last heartbeat, exactly the rows loadCollectorConnections gives", async () => {
    const other = 8;
    expect((await loadConnectionsOfAgents(readModel.db, [other])).get(other)).toEqual({
      lastHeartbeat: null,
      silenceConfirmedAt: null,
      collectors: [],
    });
    const at = new Date("2026-12-01T19:00:02.123Z");
    const confirmed = new Date("2026-12-01T19:03:30.456Z");
    await readModel.db
      .insertInto("read_model.agent_connections")
      .values({
        agent_id: AGENT,
        collector_id: "agentk-a",
        last_heartbeat_at: at,
        disconnected_reported_at: confirmed,
      })
      .execute();
    await readModel.db
      .updateTable("read_model.collector_connections")
      .set({ pod_ip: "10.244.0.7", commit: "abc", stopped_at: at })
      .where("collector_id", "=", "agentk-b")
      .execute();
    const combined = (await loadConnectionsOfAgents(readModel.db, [AGENT])).get(AGENT);
    expect(combined?.lastHeartbeat).toEqual(at);
    expect(combined?.silenceConfirmedAt).toEqual(confirmed);
    expect(combined?.collectors).toEqual(await loadCollectorConnections(readModel.db, AGENT));
  });
});
