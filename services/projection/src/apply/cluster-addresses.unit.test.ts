import { buildClusterFacts } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { addressRowsFor } from "./cluster-addresses.ts";

const none = {
  api_endpoint_ip: null,
  agent_pod_ip: null,
  node_ips: { internal: [], external: [] },
  pod_cidrs: [],
  service_cidrs: [],
};

describe("addressRowsFor", () => {
  it.each([
    [
      "every address field of a typical IPv4 cluster",
      buildClusterFacts({ node_ips: { internal: ["10.0.1.1"], external: ["52.1.2.3"] } }),
      [
        ["api_endpoint_ip", "10.0.0.1/32"],
        ["node_ips.internal", "10.0.1.1/32"],
        ["node_ips.external", "52.1.2.3/32"],
        ["agent_pod_ip", "10.244.0.5/32"],
        ["pod_cidrs", "10.244.0.0/16"],
        ["service_cidrs", "10.96.0.0/12"],
      ],
    ],
    ["nothing reported", buildClusterFacts(none), []],
    [
      "dual-stack: IPv6 hosts as /128, ranges as their network",
      buildClusterFacts({
        ...none,
        api_endpoint_ip: "FD00::1",
        node_ips: { internal: ["10.0.1.1", "fd00:1::5"], external: [] },
        pod_cidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
      }),
      [
        ["api_endpoint_ip", "fd00::1/128"],
        ["node_ips.internal", "10.0.1.1/32"],
        ["node_ips.internal", "fd00:1::5/128"],
        ["pod_cidrs", "10.244.0.0/16"],
        ["pod_cidrs", "fd00:10:244::/56"],
      ],
    ],
    [
      "host bits cleared, duplicates per field dropped, the same address in two fields kept",
      buildClusterFacts({
        ...none,
        api_endpoint_ip: "10.0.1.1",
        node_ips: { internal: ["10.0.1.1", "10.0.1.1"], external: [] },
        service_cidrs: ["10.96.3.4/12", "10.96.0.0/12"],
      }),
      [
        ["api_endpoint_ip", "10.0.1.1/32"],
        ["node_ips.internal", "10.0.1.1/32"],
        ["service_cidrs", "10.96.0.0/12"],
      ],
    ],
    [
      "values that do not parse are left out",
      buildClusterFacts({
        ...none,
        agent_pod_ip: "not-an-ip",
        node_ips: { internal: ["10.0.1.300"], external: ["fe80::1%eth0"] },
        pod_cidrs: ["10.244.0.0/33"],
      }),
      [],
    ],
  ])("%s", (_name, facts, expected) => {
    const rows = addressRowsFor(7, facts);
    expect(rows.map((r) => [r.field, r.address])).toEqual(expected);
    expect(rows.every((r) => r.agent_id === 7)).toBe(true);
  });
});
