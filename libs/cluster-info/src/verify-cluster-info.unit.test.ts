import type { ClusterExpectations, ClusterFacts } from "@kasmap/contracts";
import { buildClusterFacts } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import {
  invalidExpectedRanges,
  parseAddressRange,
  unreportedVerification,
  verifyClusterInfo,
} from "./verify-cluster-info.ts";

/** Two nodes in eu-west-1, one with a public IP; `sources` says why two fields are missing. */
function facts(overrides: Partial<ClusterFacts> = {}): ClusterFacts {
  return buildClusterFacts({
    node_ips: { external: ["52.1.2.3"], internal: ["10.0.1.1", "10.0.1.2"] },
    platform: "eks",
    region: "eu-west-1",
    node_count: 2,
    sources: {
      cluster_context: {
        kind: "missing",
        reason: "not-exposed-by-platform",
        detail: "no kubeconfig context",
      },
      "node_ips.external": { kind: "observed", source: "node.status.addresses" },
      service_cidrs: { kind: "missing", reason: "forbidden" },
    },
    ...overrides,
  });
}

const dualStack = facts({
  api_endpoint_ip: "fd00::1",
  node_ips: { external: [], internal: ["10.0.1.1", "fd00:1::1"] },
  pod_cidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
});

type Failure = { field: string; value: string | null; reason: string };

/** `value` lies in none of the expected ranges. */
const outside = (field: string, value: string): Failure => ({
  field,
  value,
  reason: `${value} is outside every expected range`,
});

/** The CIDR `value` fits in none of the expected ranges. */
const notContained = (field: string, value: string): Failure => ({
  field,
  value,
  reason: `${value} is not contained in any expected range`,
});

/** The cluster reported no value for `field`; `reason` says why. */
const unreported = (field: string, reason: string): Failure => ({ field, value: null, reason });

/** The verification passes exactly when `failed` is empty. */
type Row = [name: string, input: ClusterFacts, expectations: ClusterExpectations, failed: Failure[]];

const cases: Row[] = [
  ["every address inside one range", facts(), { node_ips: ["10.0.0.0/16", "52.1.0.0/16"] }, []],
  [
    "an external node IP outside the ranges",
    facts(),
    { node_ips: ["10.0.0.0/16"] },
    [outside("node_ips.external", "52.1.2.3")],
  ],
  ["internal only ignores external", facts(), { node_ips_internal: ["10.0.1.0/24"] }, []],
  ["a bare address is a one-address range", facts(), { api_endpoint_ip: ["10.0.0.1"] }, []],
  [
    "api endpoint outside",
    facts(),
    { api_endpoint_ip: ["192.168.0.0/16"] },
    [outside("api_endpoint_ip", "10.0.0.1")],
  ],
  ["a pod CIDR inside a wider range", facts(), { pod_cidrs: ["10.0.0.0/8"] }, []],
  ["a pod CIDR equal to the range", facts(), { pod_cidrs: ["10.244.0.0/16"] }, []],
  [
    "a pod CIDR wider than the range",
    facts(),
    { pod_cidrs: ["10.244.0.0/24"] },
    [notContained("pod_cidrs", "10.244.0.0/16")],
  ],
  [
    "a null CIDR list fails with its sources reason",
    facts({ service_cidrs: [] }),
    { service_cidrs: ["10.96.0.0/12"] },
    [unreported("service_cidrs", "not reported: forbidden")],
  ],
  [
    "a null name fails with reason and detail",
    facts(),
    { cluster_context: "prod-ctx" },
    [unreported("cluster_context", "not reported: not-exposed-by-platform (no kubeconfig context)")],
  ],
  ["external node IPs inside", facts(), { node_ips_external: ["52.0.0.0/8"] }, []],
  [
    "an empty external list",
    facts({ node_ips: { internal: ["10.0.1.1"], external: [] } }),
    { node_ips_external: ["52.0.0.0/8"] },
    [unreported("node_ips.external", "no value reported (source: node.status.addresses)")],
  ],
  [
    "no node IPs at all",
    facts({ node_ips: { internal: [], external: [] } }),
    { node_ips: ["10.0.0.0/8"] },
    [unreported("node_ips", "not reported by the cluster")],
  ],
  ["names and platform match", facts(), { cluster_name: "prod", platform: "eks" }, []],
  [
    "a different name",
    facts(),
    { cluster_name: "staging" },
    [{ field: "cluster_name", value: "prod", reason: 'cluster_name is "prod", expected "staging"' }],
  ],
  ["IPv6 api endpoint in an IPv6 range", dualStack, { api_endpoint_ip: ["fd00::/64"] }, []],
  [
    "dual-stack nodes need ranges of both families",
    dualStack,
    { node_ips: ["10.0.0.0/16"] },
    [outside("node_ips.internal", "fd00:1::1")],
  ],
  ["dual-stack nodes with both families", dualStack, { node_ips: ["10.0.0.0/16", "fd00::/16"] }, []],
  ["dual-stack pod CIDRs", dualStack, { pod_cidrs: ["10.244.0.0/16", "fd00:10::/32"] }, []],
  [
    "an IPv6 CIDR wider than its range",
    dualStack,
    { pod_cidrs: ["10.244.0.0/16", "fd00:10:244::/64"] },
    [notContained("pod_cidrs", "fd00:10:244::/56")],
  ],
  [
    "an IPv4 range never holds an IPv4-mapped IPv6 address",
    facts({ api_endpoint_ip: "::ffff:10.0.0.1" }),
    { api_endpoint_ip: ["10.0.0.0/8"] },
    [outside("api_endpoint_ip", "::ffff:10.0.0.1")],
  ],
];

describe("verifyClusterInfo", () => {
  it.each(cases)("%s", (_name, input, expectations, failed) => {
    const result = verifyClusterInfo(input, expectations);
    expect(result.ok).toBe(failed.length === 0);
    expect(result.checks.length).toBeGreaterThan(0);
    const failures = result.checks
      .filter((c) => !c.ok)
      .map(({ field, value, reason }) => ({ field, value, reason }));
    expect(failures).toEqual(failed);
  });

  it("reports one check per address with the range holding it, and the expected ranges once", () => {
    const result = verifyClusterInfo(facts(), { node_ips_internal: ["10.0.0.0/8", "10.0.1.0/24"] });
    const check = { field: "node_ips.internal", expectation: "node_ips_internal", ok: true };
    expect(result).toEqual({
      ok: true,
      expected: { node_ips_internal: ["10.0.0.0/8", "10.0.1.0/24"] },
      checks: [
        { ...check, value: "10.0.1.1", within: "10.0.1.0/24" },
        { ...check, value: "10.0.1.2", within: "10.0.1.0/24" },
      ],
    });
  });
});

describe("verifyClusterInfo answer size (issue 7.10)", () => {
  it("grows with reported + expected addresses, not their product", () => {
    const ip = (i: number) => `10.${Math.floor(i / 250)}.${i % 250}.1`;
    const internal = Array.from({ length: 1_000 }, (_, i) => ip(i));
    const ranges = Array.from(
      { length: 1_000 },
      (_, i) => `${i % 2 === 0 ? ip(i) : `192.168.0.${i % 250}`}/32`,
    );
    const result = verifyClusterInfo(facts({ node_ips: { internal, external: [] } }), { node_ips: ranges });
    expect(result.checks).toHaveLength(1_000);
    expect(JSON.stringify(result).length).toBeLessThan(200 * (internal.length + ranges.length));
  });
});

describe("unreportedVerification", () => {
  it("fails every expected field with the reason", () => {
    const result = unreportedVerification({ node_ips: ["10.0.0.0/8"], cluster_name: "prod" });
    expect(result.ok).toBe(false);
    expect(result.checks.map((c) => [c.field, c.value, c.ok])).toEqual([
      ["node_ips", null, false],
      ["cluster_name", null, false],
    ]);
    expect(result.checks[0]?.reason).toMatch(/not reported yet/);
  });
});

describe("expected ranges", () => {
  it.each([
    ["10.0.0.0/16", "10.0.0.0/16"],
    ["10.0.3.4/16", "10.0.0.0/16"],
    ["10.0.0.1", "10.0.0.1/32"],
    ["FD00::1", "fd00::1/128"],
    ["fd00::/8", "fd00::/8"],
    ["10.0.0.0/33", null],
    ["nope", null],
  ])("parses %s as %s", (text, expected) => {
    expect(parseAddressRange(text)?.text ?? null).toBe(expected);
  });

  it("lists the ranges that do not parse", () => {
    expect(invalidExpectedRanges({ node_ips: ["10.0.0.0/8", "bogus"], pod_cidrs: ["1.2.3.4/40"] })).toEqual([
      "node_ips: bogus",
      "pod_cidrs: 1.2.3.4/40",
    ]);
  });
});
