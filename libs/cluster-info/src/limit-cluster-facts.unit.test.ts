import {
  CLUSTER_FACTS_LIMITS,
  CLUSTER_FACTS_TEXT_FIELDS,
  CLUSTER_FACTS_TEXT_LIMITS,
  ClusterFactsSchema,
} from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { deriveClusterFactsWithDiagnostics } from "./derive-cluster-facts.ts";
import { limitClusterFacts } from "./limit-cluster-facts.ts";
import { largeDualStackObservation } from "./testing/large-cluster.ts";

const NOW = new Date("2025-01-01T00:00:00.000Z");
const ipv4s = (count: number) =>
  Array.from({ length: count }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);

describe("limitClusterFacts", () => {
  it("returns facts within the limits unchanged", () => {
    const facts = buildClusterFacts();
    expect(limitClusterFacts(facts)).toBe(facts);
  });

  it.each([
    { key: "node_ips.internal", max: CLUSTER_FACTS_LIMITS.nodeIpsPerType },
    { key: "node_ips.external", max: CLUSTER_FACTS_LIMITS.nodeIpsPerType },
    { key: "api_endpoint_ips", max: CLUSTER_FACTS_LIMITS.apiEndpointIps },
  ] as const)("keeps the first $max entries of $key and says so in its source", ({ key, max }) => {
    const list = ipv4s(max + 7);
    const base = buildClusterFacts();
    const facts =
      key === "api_endpoint_ips"
        ? { ...base, api_endpoint_ips: list }
        : {
            ...base,
            node_ips: { ...base.node_ips, [key === "node_ips.internal" ? "internal" : "external"]: list },
          };
    const limited = limitClusterFacts(facts);
    expect(ClusterFactsSchema.safeParse(limited).success).toBe(true);
    const kept =
      key === "api_endpoint_ips"
        ? limited.api_endpoint_ips
        : limited.node_ips[key === "node_ips.internal" ? "internal" : "external"];
    expect(kept).toEqual(list.slice(0, max));
    expect(limited.sources[key]).toMatchObject({
      detail: expect.stringContaining(`first ${max} of ${max + 7} entries kept`),
    });
  });

  it("keeps the first ranges and zones over their limits", () => {
    const ranges = Array.from(
      { length: CLUSTER_FACTS_LIMITS.serviceCidrs + 1 },
      (_, i) => `fd00:96:${i.toString(16)}::/112`,
    );
    const zones = Array.from({ length: CLUSTER_FACTS_LIMITS.zones + 1 }, (_, i) => `zone-${i}`);
    const limited = limitClusterFacts(buildClusterFacts({ service_cidrs: ranges, zones }));
    expect(limited.service_cidrs).toEqual(ranges.slice(0, CLUSTER_FACTS_LIMITS.serviceCidrs));
    expect(limited.zones).toEqual(zones.slice(0, CLUSTER_FACTS_LIMITS.zones));
    expect(ClusterFactsSchema.safeParse(limited).success).toBe(true);
  });
});

describe("limitClusterFacts on text", () => {
  it.each(CLUSTER_FACTS_TEXT_FIELDS)("publishes an over-long %s as null, the reason in its source", (key) => {
    const max = CLUSTER_FACTS_TEXT_LIMITS[key];
    const limited = limitClusterFacts(buildClusterFacts({ [key]: "x".repeat(max + 1) }));
    expect(limited[key]).toBeNull();
    expect(limited.sources[key]).toEqual({
      kind: "missing",
      reason: "invalid",
      detail: `the cluster gave ${max + 1} characters: the cluster facts contract allows at most ${max} (CLUSTER_FACTS_TEXT_LIMITS)`,
    });
    expect(ClusterFactsSchema.safeParse(limited).success).toBe(true);
  });

  it("keeps a text of exactly the limit", () => {
    const name = "n".repeat(CLUSTER_FACTS_TEXT_LIMITS.cluster_name);
    const facts = buildClusterFacts({ cluster_name: name });
    expect(limitClusterFacts(facts)).toBe(facts);
  });

  it("publishes an over-long Kubernetes version as null", () => {
    const kubernetes_version = {
      major: "1",
      minor: "30",
      git_version: "v".repeat(300),
      platform: "linux/amd64",
    };
    const limited = limitClusterFacts(buildClusterFacts({ kubernetes_version }));
    expect(limited.kubernetes_version).toBeNull();
    expect(limited.sources.kubernetes_version).toMatchObject({ kind: "missing", reason: "invalid" });
    expect(ClusterFactsSchema.safeParse(limited).success).toBe(true);
  });

  it("cuts a source's long detail and name, keeping its standing", () => {
    const detail = `nodes disagree on node label topology.kubernetes.io/region: ${"r".repeat(10_000)}`;
    const limited = limitClusterFacts(
      buildClusterFacts({
        region: null,
        sources: {
          region: { kind: "missing", reason: "invalid", detail },
          cluster_name: { kind: "observed", source: "s".repeat(300) },
        },
      }),
    );
    const region = limited.sources.region;
    expect(region?.kind).toBe("missing");
    expect(region?.detail).toHaveLength(CLUSTER_FACTS_TEXT_LIMITS.sourceDetail);
    expect(
      region?.detail?.startsWith("nodes disagree on node label topology.kubernetes.io/region: rrr"),
    ).toBe(true);
    expect(region?.detail?.endsWith("…")).toBe(true);
    expect(limited.sources.cluster_name).toEqual({ kind: "observed", source: `${"s".repeat(255)}…` });
    expect(ClusterFactsSchema.safeParse(limited).success).toBe(true);
  });
});

describe("limitClusterFacts on a list's note after a long detail", () => {
  it("cuts the detail after the list's note is added, so the facts still meet the contract", () => {
    const ranges = Array.from(
      { length: CLUSTER_FACTS_LIMITS.serviceCidrs + 3 },
      (_, i) => `fd00:10:96:${i.toString(16)}::/112`,
    );
    const detail = `ServiceCIDR left out: ${"Ready=False ".repeat(400)}`;
    const limited = limitClusterFacts(
      buildClusterFacts({
        service_cidrs: ranges,
        sources: { service_cidrs: { kind: "observed", source: "ServiceCIDR", detail } },
      }),
    );
    expect(limited.sources.service_cidrs?.detail).toHaveLength(CLUSTER_FACTS_TEXT_LIMITS.sourceDetail);
    expect(ClusterFactsSchema.safeParse(limited).success).toBe(true);
  });

  it("never cuts inside a surrogate pair", () => {
    const detail = "😀".repeat(CLUSTER_FACTS_TEXT_LIMITS.sourceDetail);
    const limited = limitClusterFacts(
      buildClusterFacts({ sources: { region: { kind: "missing", reason: "invalid", detail } } }),
    );
    const cut = limited.sources.region?.detail ?? "";
    expect(cut.length).toBeLessThanOrEqual(CLUSTER_FACTS_TEXT_LIMITS.sourceDetail);
    expect(cut.endsWith("😀…")).toBe(true);
  });
});

describe("derived facts always satisfy the contract", () => {
  it("derives a 5,000-node dual-stack cluster within every limit, nothing cut", () => {
    const { facts } = deriveClusterFactsWithDiagnostics(largeDualStackObservation(5_000), NOW);
    expect(facts.node_ips.internal).toHaveLength(CLUSTER_FACTS_LIMITS.nodeIpsPerType);
    expect(ClusterFactsSchema.parse(facts)).toEqual(facts);
    expect(JSON.stringify(facts.sources)).not.toContain("entries kept");
  });

  it("cuts a 6,000-node cluster's node IPs to the limit and records the cut in sources", () => {
    const { facts } = deriveClusterFactsWithDiagnostics(largeDualStackObservation(6_000), NOW);
    expect(facts.node_count).toBe(6_000);
    expect(ClusterFactsSchema.parse(facts)).toEqual(facts);
    expect(facts.node_ips.internal).toHaveLength(CLUSTER_FACTS_LIMITS.nodeIpsPerType);
    // IPv4 sorts first: all 6,000 IPv4 addresses kept, then the first 4,000 IPv6 ones.
    expect(facts.node_ips.internal.filter((ip) => !ip.includes(":"))).toHaveLength(6_000);
    expect(facts.node_ips.external).toHaveLength(6_000);
    expect(facts.sources["node_ips.internal"]).toEqual({
      kind: "observed",
      source: "node.status.addresses[type=InternalIP]",
      detail: expect.stringContaining("first 10000 of 12000 entries kept"),
    });
  });
});
