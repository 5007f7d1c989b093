import { canonicalJson } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { clusterFactsContentHash } from "./content-hash.ts";
import { deriveClusterFacts } from "./derive-cluster-facts.ts";
import { gkeDualStackObservation, kindObservation } from "./testing/observations.ts";

const replicaAt = (podIp: string) => ({ podIp, namespace: "gitlab-agent", namespaceSource: "env" as const });

describe("clusterFactsContentHash", () => {
  it("ignores observed_at, so an unchanged cluster hashes equally", () => {
    const first = deriveClusterFacts(kindObservation(), new Date("2025-01-01T00:00:00Z"));
    const later = deriveClusterFacts(kindObservation(), new Date("2025-06-01T00:00:00Z"));
    expect(clusterFactsContentHash(first)).toMatch(/^[0-9a-f]{64}$/);
    expect(clusterFactsContentHash(later)).toBe(clusterFactsContentHash(first));
  });

  it("changes when a fact changes", () => {
    const now = new Date("2025-01-01T00:00:00Z");
    const kind = deriveClusterFacts(kindObservation(), now);
    const moved = { ...kind, node_ips: { ...kind.node_ips, internal: ["172.18.0.2", "172.18.0.4"] } };
    expect(clusterFactsContentHash(moved)).not.toBe(clusterFactsContentHash(kind));
    expect(clusterFactsContentHash(deriveClusterFacts(gkeDualStackObservation(), now))).not.toBe(
      clusterFactsContentHash(kind),
    );
  });

  it("ignores the publishing replica's agent_pod_ip, so replicas of one agent hash one cluster equally", () => {
    const now = new Date("2025-01-01T00:00:00Z");
    const first = deriveClusterFacts({ ...kindObservation(), downward: replicaAt("10.244.0.5") }, now);
    const second = deriveClusterFacts({ ...kindObservation(), downward: replicaAt("10.244.1.9") }, now);
    expect(second.agent_pod_ip).toBe("10.244.1.9");
    expect(clusterFactsContentHash(second)).toBe(clusterFactsContentHash(first));
    const elsewhere = deriveClusterFacts(
      { ...kindObservation(), downward: { ...replicaAt("10.244.0.5"), namespace: "other" } },
      now,
    );
    expect(clusterFactsContentHash(elsewhere)).not.toBe(clusterFactsContentHash(first));
  });

  it("does not depend on key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: { c: null, d: [2, 1] }, b: 1 })).toBe(
      canonicalJson({ b: 1, a: { d: [2, 1], c: null } }),
    );
  });
});
