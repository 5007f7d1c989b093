import { buildClusterFacts } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import {
  CLUSTER_FACTS_LIMITS,
  CLUSTER_FACTS_TEXT_LIMITS,
  type ClusterFacts,
  ClusterFactsSchema,
  StoredClusterFactsSchema,
} from "./cluster-info.ts";
import { ClusterHeartbeatDataSchema } from "./events.ts";
import { summarizeZodIssues } from "./summarize-zod-issues.ts";

const ipv4s = (count: number) =>
  Array.from({ length: count }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
const ipv6s = (count: number) => Array.from({ length: count }, (_, i) => `fd00:10::${i.toString(16)}`);
const cidrs = (count: number) =>
  Array.from({ length: count }, (_, i) => `fd00:10:244:${i.toString(16)}::/64`);
const zones = (count: number) => Array.from({ length: count }, (_, i) => `zone-${i}`);

/** The issues of parsing `overrides` over valid facts; "" when they parse. */
function issuesOf(overrides: Partial<ClusterFacts>): string {
  const parsed = ClusterFactsSchema.safeParse(buildClusterFacts(overrides));
  return parsed.success ? "" : summarizeZodIssues(parsed.error, 3);
}

describe("ClusterFactsSchema accepts what Kubernetes reports", () => {
  it.each<[string, Partial<ClusterFacts>]>([
    [
      "dual-stack node IPs",
      { node_ips: { internal: ["10.0.0.1", "fd00:10::1"], external: ["54.1.2.3", "2600:1f18::7"] } },
    ],
    [
      "IPv4-mapped and uncompressed IPv6",
      { node_ips: { internal: ["::ffff:10.0.0.1", "2001:db8:0:0:0:0:0:1"], external: [] } },
    ],
    [
      "5,000 dual-stack nodes' addresses",
      { node_ips: { internal: [...ipv4s(5_000), ...ipv6s(5_000)], external: ipv4s(5_000) } },
    ],
    [
      "dual-stack ranges",
      {
        pod_cidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
        service_cidrs: ["10.96.0.0/12", "fd00:10:96::/112"],
      },
    ],
    ["a pod range per family of 5,000 nodes", { pod_cidrs: cidrs(CLUSTER_FACTS_LIMITS.podCidrs) }],
    ["an IPv6 API endpoint IP", { api_endpoint_ip: "fd00::1", api_endpoint_ips: ["fd00::1", "fd00::2"] }],
    ["a zone per node", { zones: zones(CLUSTER_FACTS_LIMITS.zones) }],
    ["no address and no range", { api_endpoint_ip: null, pod_cidr: null, service_cidr: null, pod_cidrs: [] }],
  ])("%s", (_, overrides) => {
    expect(issuesOf(overrides)).toBe("");
  });
});

describe("ClusterFactsSchema refuses what is not an address, a range, or too many", () => {
  it.each<[string, Partial<ClusterFacts>, string]>([
    [
      "a 1 KB node IP",
      { node_ips: { internal: ["10.0.0.1"], external: ["x".repeat(1024)] } },
      "node_ips.external.0: must be an IPv4 or IPv6 address",
    ],
    [
      "a host name as node IP",
      { node_ips: { internal: ["node-1.example.com"], external: [] } },
      "node_ips.internal.0:",
    ],
    ["an IPv6 zone id", { node_ips: { internal: ["fe80::1%eth0"], external: [] } }, "node_ips.internal.0:"],
    [
      "a bracketed IPv6 address",
      { node_ips: { internal: ["[fd00::1]"], external: [] } },
      "node_ips.internal.0:",
    ],
    ["a range as node IP", { node_ips: { internal: ["10.0.0.0/24"], external: [] } }, "node_ips.internal.0:"],
    [
      "more node IPs than 5,000 dual-stack nodes have",
      { node_ips: { internal: ipv4s(CLUSTER_FACTS_LIMITS.nodeIpsPerType + 1), external: [] } },
      "node_ips.internal: must have at most 10000 entries",
    ],
    [
      "a host name as API endpoint IP",
      { api_endpoint_ip: "api.example.com" },
      "api_endpoint_ip: must be an IPv4",
    ],
    [
      "too many API endpoint IPs",
      { api_endpoint_ips: ipv4s(CLUSTER_FACTS_LIMITS.apiEndpointIps + 1) },
      "api_endpoint_ips: must have at most 1000 entries",
    ],
    [
      "an address without prefix as pod range",
      { pod_cidrs: ["10.244.0.0"] },
      "pod_cidrs.0: must be an IPv4 or IPv6 range",
    ],
    ["a prefix beyond 32 bits", { service_cidrs: ["10.96.0.0/33"] }, "service_cidrs.0:"],
    ["a non-range pod_cidr", { pod_cidr: "anything" }, "pod_cidr:"],
    ["a non-range service_cidr", { service_cidr: "10.96.0.1" }, "service_cidr:"],
    [
      "too many pod ranges",
      { pod_cidrs: cidrs(CLUSTER_FACTS_LIMITS.podCidrs + 1) },
      "pod_cidrs: must have at most 10000 entries",
    ],
    [
      "too many service ranges",
      { service_cidrs: cidrs(CLUSTER_FACTS_LIMITS.serviceCidrs + 1) },
      "service_cidrs: must have at most 256 entries",
    ],
    ["a zone longer than a label value", { zones: ["z".repeat(64)] }, "zones.0:"],
    ["a zone no label could hold", { zones: ["us east 1a"] }, "zones.0: must be a Kubernetes label value"],
    [
      "more zones than nodes",
      { zones: zones(CLUSTER_FACTS_LIMITS.zones + 1) },
      "zones: must have at most 5000 entries",
    ],
  ])("%s", (_, overrides, issue) => {
    expect(issuesOf(overrides)).toContain(issue);
  });
});

describe("ClusterFactsSchema bounds the facts' text", () => {
  const sources = (count: number) =>
    Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`field_${i}`, { kind: "observed", source: "nodes" } as const]),
    );
  it.each<[string, Partial<ClusterFacts>]>([
    [
      "an EKS ARN as context",
      { cluster_context: `arn:aws:eks:eu-west-1:123456789012:cluster/${"c".repeat(100)}` },
    ],
    [
      "a cluster name of a DNS subdomain's length",
      { cluster_name: "n".repeat(CLUSTER_FACTS_TEXT_LIMITS.cluster_name) },
    ],
    ["an API URL of 2,048 characters", { api_endpoint: `https://${"a".repeat(2_040)}` }],
    ["64 sources", { sources: sources(CLUSTER_FACTS_TEXT_LIMITS.sourcesEntries) }],
  ])("accepts %s", (_, overrides) => {
    expect(issuesOf(overrides)).toBe("");
  });

  it.each<[string, Partial<ClusterFacts>, string]>([
    ["a 1 MB cluster name", { cluster_name: "n".repeat(1 << 20) }, "cluster_name:"],
    ["a 4 KB API URL", { api_endpoint: `https://${"a".repeat(4_096)}` }, "api_endpoint:"],
    ["a 3 KB context", { cluster_context: "c".repeat(3_000) }, "cluster_context:"],
    ["a namespace longer than a DNS label", { agent_namespace: "n".repeat(64) }, "agent_namespace:"],
    ["a pod IP of 1 KB", { agent_pod_ip: "1".repeat(1_024) }, "agent_pod_ip:"],
    ["a region of 1 KB", { region: "r".repeat(1_024) }, "region:"],
    ["a 1 KB cluster UID", { cluster_uid: "u".repeat(1_024) }, "cluster_uid:"],
    [
      "a 1 KB version",
      {
        kubernetes_version: {
          major: "1",
          minor: "30",
          git_version: "v".repeat(1_024),
          platform: "linux/amd64",
        },
      },
      "kubernetes_version.git_version:",
    ],
    [
      "a source detail of 100 KB",
      { sources: { cluster_name: { kind: "observed", source: "nodes", detail: "d".repeat(100_000) } } },
      "sources.cluster_name.detail:",
    ],
    [
      "a source key of 1 KB",
      { sources: { ["k".repeat(1_024)]: { kind: "observed", source: "nodes" } } },
      `sources.${"k".repeat(64)}…: Invalid key in record`,
    ],
    [
      "65 sources",
      { sources: sources(CLUSTER_FACTS_TEXT_LIMITS.sourcesEntries + 1) },
      "sources: must have at most 64 entries",
    ],
  ])("refuses %s", (_, overrides, issue) => {
    expect(issuesOf(overrides)).toContain(issue);
  });
});

describe("ClusterFactsSchema on a list of refused entries", () => {
  // One issue per refused entry made a hostile snapshot cost hundreds of ms of CPU per parse.
  it.each<[number, string]>([
    [35_000, "node_ips.internal: must have at most 10000 entries"],
    [CLUSTER_FACTS_LIMITS.nodeIpsPerType, "node_ips.internal.0: must be an IPv4 or IPv6 address"],
  ])("%i refused entries yield one issue", (count, issue) => {
    const refused = Array.from({ length: count }, () => "x".repeat(1024));
    const parsed = ClusterFactsSchema.safeParse(
      buildClusterFacts({ node_ips: { internal: refused, external: [] } }),
    );
    const issues = parsed.error?.issues ?? [];
    expect(issues.map(({ path, message }) => `${path.join(".")}: ${message}`)).toEqual([issue]);
  });
});

describe("StoredClusterFactsSchema", () => {
  it("still reads facts stored before the lists were checked, which new snapshots may not carry", () => {
    const old = buildClusterFacts({
      node_ips: { internal: ["x".repeat(1024)], external: [] },
      api_endpoint_ip: "kubernetes.default",
      zones: ["us east 1a"],
    });
    expect(ClusterFactsSchema.safeParse(old).success).toBe(false);
    expect(StoredClusterFactsSchema.parse(old)).toEqual(old);
  });

  it("still reads facts stored before their text was bounded", () => {
    const old = buildClusterFacts({
      cluster_name: "n".repeat(10_000),
      region: "r".repeat(1_000),
      kubernetes_version: { major: "1", minor: "30", git_version: "v".repeat(1_000), platform: "linux" },
      sources: { cluster_name: { kind: "observed", source: "nodes", detail: "d".repeat(10_000) } },
    });
    expect(ClusterFactsSchema.safeParse(old).success).toBe(false);
    expect(StoredClusterFactsSchema.parse(old)).toEqual(old);
  });
});

describe("ClusterHeartbeatDataSchema bounds the cluster UID as the facts do", () => {
  const heartbeat = (cluster_uid: string) => ({
    agent_id: 6,
    collector_id: "agentk-a",
    content_hash: null,
    sent_at: "2026-12-04T00:00:00.000Z",
    cluster_uid,
  });
  it("accepts a Kubernetes UID and refuses 1 KB", () => {
    expect(
      ClusterHeartbeatDataSchema.safeParse(heartbeat("0b5c2c5e-8f5a-4c1e-9d0a-3f2d4e5f6a7b")).success,
    ).toBe(true);
    const refused = ClusterHeartbeatDataSchema.safeParse(heartbeat("u".repeat(1_024)));
    expect(refused.error?.issues.map((issue) => issue.path.join("."))).toEqual(["cluster_uid"]);
  });
});
