import { buildDualStackNodes } from "@kasmap/cluster-info/testing";
import { afterEach, describe, expect, it } from "vitest";
import { LIST_PAGE_SIZE } from "./kube/resource-watcher.ts";
import { type CollectorTestCluster, startCollectorTestCluster } from "./testing/collector-test-cluster.ts";

/**
 * Large clusters are listed in pages (`limit`/`continue`), so the collector never holds a whole
 * NodeList; a continue token that expired between two pages starts the list over. Each test
 * gets its own simulator.
 */
let cluster: CollectorTestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** The demo cluster's 3 nodes plus enough workers for three pages. */
const EXTRA_NODES = 2 * LIST_PAGE_SIZE + 50;
const ALL_NODES = 3 + EXTRA_NODES;

async function largeCluster(): Promise<CollectorTestCluster> {
  const c = await startCollectorTestCluster();
  cluster = c;
  for (const node of buildDualStackNodes(EXTRA_NODES)) c.simulator.upsert(node);
  return c;
}

function nodeLists(c: CollectorTestCluster) {
  return c.simulator.requests
    .filter((r) => r.verb === "list" && r.path === "/api/v1/nodes")
    .map((r) => ({ status: r.status, params: new URLSearchParams(r.query) }));
}

describe("collector on a large cluster", () => {
  it("lists the nodes in pages and publishes every node", async () => {
    const c = await largeCluster();
    const collector = c.startCollector(21);
    await c.latestSnapshotWhen(21, (f) => f.node_count === ALL_NODES, "all nodes");

    const lists = nodeLists(c);
    expect(lists.map((l) => l.params.get("limit"))).toEqual(Array(3).fill(String(LIST_PAGE_SIZE)));
    expect(lists.map((l) => l.params.has("continue"))).toEqual([false, true, true]);
    expect(lists.every((l) => l.status === 200)).toBe(true);
    await collector.stop();
  });

  it("starts the list over when its continue token expired between pages", async () => {
    const c = await largeCluster();
    // History compacted right after the first page: the token it carries is too old by page two.
    const stop = c.simulator.onRequest((r) => {
      if (r.verb === "list" && r.path === "/api/v1/nodes") {
        c.simulator.compactHistory();
        stop();
      }
    });
    const collector = c.startCollector(22);
    await c.latestSnapshotWhen(22, (f) => f.node_count === ALL_NODES, "all nodes");

    const lists = nodeLists(c);
    expect(lists.map((l) => [l.status, l.params.has("continue")])).toEqual([
      [200, false],
      [410, true],
      [200, false],
      [200, true],
      [200, true],
    ]);
    await collector.stop();
  });
});
