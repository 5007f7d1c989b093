import { describe, expect, it } from "vitest";
import { deriveClusterFactsWithDiagnostics } from "./derive-cluster-facts.ts";
import { NodeScanMemo } from "./node-scan.ts";
import type { ClusterObservation } from "./observation.ts";
import { buildNode } from "./testing/kubernetes-objects.ts";
import { largeDualStackObservation } from "./testing/large-cluster.ts";
import { emptyObservation } from "./testing/observations.ts";

const NOW = new Date("2025-03-01T12:00:00Z");

/** A cluster of good nodes and two broken ones: an invalid address, a node without a name. */
function observationWith(nodes: unknown[]): ClusterObservation {
  return { ...emptyObservation(), nodes: { state: "ok", value: nodes } };
}

function brokenNodes(): unknown[] {
  return [
    buildNode({
      name: "a",
      addresses: [
        ["InternalIP", "10.0.0.1"],
        ["ExternalIP", "203.0.113.1"],
      ],
    }),
    buildNode({
      name: "odd",
      addresses: [
        ["InternalIP", "300.1.2.3"],
        ["VirtualIP", "10.9.9.9"],
        ["InternalIP", "10.0.0.2"],
      ],
    }),
    { metadata: {}, status: { addresses: [] } },
    "garbage",
  ];
}

describe("deriving with a NodeScanMemo", () => {
  it("gives the facts and diagnostics of a derivation without it, every time", () => {
    const nodes = brokenNodes();
    const plain = deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW);
    const memo = new NodeScanMemo();
    for (let round = 0; round < 3; round++) {
      // The second and third rounds reuse the findings: the drops are counted again each time.
      const memoized = deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW, { nodeScanMemo: memo });
      expect(memoized).toEqual(plain);
    }
    expect(plain.diagnostics).toMatchObject({
      invalidIps: 1,
      unknownAddressTypes: 1,
      rejectedObjects: { nodes: 2 },
    });
    expect(plain.facts.node_ips.internal).toEqual(["10.0.0.1", "10.0.0.2"]);
  });

  it("follows a node whose object was replaced, and forgets one removed", () => {
    const nodes = brokenNodes();
    const memo = new NodeScanMemo();
    deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW, { nodeScanMemo: memo });
    nodes[0] = buildNode({ name: "a", addresses: [["InternalIP", "10.0.0.9"]] });
    nodes.splice(1, 1);
    const { facts, diagnostics } = deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW, {
      nodeScanMemo: memo,
    });
    expect(facts.node_ips).toEqual({ internal: ["10.0.0.9"], external: [] });
    expect(diagnostics).toMatchObject({
      invalidIps: 0,
      unknownAddressTypes: 0,
      rejectedObjects: { nodes: 2 },
    });
  });

  it("keeps the first 20 samples in node order across many broken nodes", () => {
    const nodes = Array.from({ length: 30 }, (_, i) =>
      buildNode({ name: `bad-${i}`, addresses: [["InternalIP", `not-ip-${i}`]] }),
    );
    const plain = deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW).diagnostics;
    const memo = new NodeScanMemo();
    deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW, { nodeScanMemo: memo });
    const again = deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW, { nodeScanMemo: memo });
    expect(again.diagnostics).toEqual(plain);
    expect(plain.invalidIps).toBe(30);
    expect(plain.samples).toHaveLength(20);
    expect(plain.samples[0]).toContain("not-ip-0");
    expect(plain.samples[19]).toContain("not-ip-19");
  });

  it("derives a 5,000-node cluster after one node changed as from scratch", () => {
    const observation = largeDualStackObservation(5_000);
    const nodes = observation.nodes.state === "ok" ? [...observation.nodes.value] : [];
    const memo = new NodeScanMemo();
    deriveClusterFactsWithDiagnostics(observationWith(nodes), NOW, { nodeScanMemo: memo });
    nodes[1234] = buildNode({ name: "replaced", addresses: [["InternalIP", "192.0.2.77"]] });
    const fresh = { ...observation, nodes: { state: "ok" as const, value: nodes } };
    expect(deriveClusterFactsWithDiagnostics(fresh, NOW, { nodeScanMemo: memo })).toEqual(
      deriveClusterFactsWithDiagnostics(fresh, NOW),
    );
  });
});
