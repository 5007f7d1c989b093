import { buildClusterFacts } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import {
  addressChanges,
  addressRowsFor,
  type ClusterAddressRow,
  HOST_RANGE_MEMO_ENTRIES,
} from "./cluster-addresses.ts";

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

/** The agent's rows as a set of `field address` keys. */
const keys = (rows: readonly ClusterAddressRow[]) => new Set(rows.map((r) => `${r.field} ${r.address}`));

/** The rows written from `before` with `addressChanges` applied as the statement applies them. */
function applied(before: ReturnType<typeof buildClusterFacts>, after: ReturnType<typeof buildClusterFacts>) {
  const rows = keys(addressRowsFor(7, before));
  const { removed, added } = addressChanges(7, before, after);
  for (const row of removed) {
    expect(row.agent_id).toBe(7);
    expect(rows.delete(`${row.field} ${row.address}`)).toBe(true);
  }
  for (const row of added) rows.add(`${row.field} ${row.address}`);
  return { rows, removed, added };
}

describe("addressChanges", () => {
  const base = buildClusterFacts({
    ...none,
    api_endpoint_ip: "10.0.0.1",
    node_ips: { internal: ["10.0.1.1", "10.0.1.2", "fd00::1"], external: ["52.1.2.3"] },
    pod_cidrs: ["10.244.0.0/24", "10.244.1.0/24"],
    service_cidrs: ["10.96.0.0/12"],
  });

  it.each([
    ["nothing changed", base, [], []],
    [
      "one node's address replaced: one row out, one in, no other field touched",
      { ...base, node_ips: { ...base.node_ips, internal: ["10.0.1.1", "10.0.1.9", "fd00::1"] } },
      ["node_ips.internal 10.0.1.2/32"],
      ["node_ips.internal 10.0.1.9/32"],
    ],
    [
      "a value respelled to the same address: nothing removed",
      { ...base, node_ips: { ...base.node_ips, internal: ["10.0.1.1", "10.0.1.2", "FD00:0::1"] } },
      [],
      ["node_ips.internal fd00::1/128"],
    ],
    [
      "a spelling removed while another spelling of it stays: kept",
      {
        ...base,
        node_ips: { ...base.node_ips, internal: ["10.0.1.1", "FD00::1"] },
        pod_cidrs: ["10.244.0.7/24", "10.244.1.0/24"],
      },
      ["node_ips.internal 10.0.1.2/32"],
      ["node_ips.internal fd00::1/128", "pod_cidrs 10.244.0.0/24"],
    ],
    [
      "single fields set to null or to what does not parse",
      { ...base, api_endpoint_ip: null, agent_pod_ip: "not-an-ip" },
      ["api_endpoint_ip 10.0.0.1/32"],
      [],
    ],
    ["everything gone", buildClusterFacts(none), [...keys(addressRowsFor(7, base))], []],
  ])("%s", (_name, after, removed, added) => {
    const result = applied(base, after);
    expect(result.removed.map((r) => `${r.field} ${r.address}`)).toEqual(removed);
    expect(result.added.map((r) => `${r.field} ${r.address}`)).toEqual(added);
    expect(result.rows).toEqual(keys(addressRowsFor(7, after)));
  });

  it("turns any snapshot's rows into any other's, duplicates and bad values included", () => {
    const pool = ["10.0.0.1", "10.0.0.2", "10.0.0.02", "fd00::1", "FD00::1", "fd00:0::1", "x", "10.0.0.1"];
    const ranges = ["10.1.0.0/16", "10.1.2.3/16", "10.2.0.0/16", "fd00::/64", "bad/99"];
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(values: readonly T[]) => values.filter(() => random() < 0.5);
    const facts = () =>
      buildClusterFacts({
        ...none,
        api_endpoint_ip: random() < 0.3 ? null : (pick(pool)[0] ?? null),
        agent_pod_ip: pick(pool)[0] ?? null,
        node_ips: { internal: pick(pool), external: pick(pool) },
        pod_cidrs: pick(ranges),
        service_cidrs: pick(ranges),
      });
    for (let i = 0; i < 500; i++) {
      const before = facts();
      const after = facts();
      expect(applied(before, after).rows).toEqual(keys(addressRowsFor(7, after)));
    }
  });

  it("answers alike past the parsed addresses it keeps: more distinct values than it holds, then the first again", () => {
    // IPv6 spellings whose canonical form differs from the text, so a wrong kept answer shows.
    const spelled = (i: number) => `FD00:0:0::${i.toString(16).toUpperCase()}`;
    const canonical = (i: number) => `fd00::${i.toString(16)}/128`;
    const first = Array.from({ length: 10 }, (_, i) => spelled(i + 1));
    const many = Array.from({ length: HOST_RANGE_MEMO_ENTRIES + 10 }, (_, i) => spelled(i + 1));
    const rowsOf = (internal: string[]) =>
      addressRowsFor(7, buildClusterFacts({ ...none, node_ips: { internal, external: [] } })).map(
        (r) => r.address,
      );
    expect(rowsOf(first)).toEqual(first.map((_, i) => canonical(i + 1)));
    expect(rowsOf(many)).toHaveLength(many.length);
    expect(rowsOf([...first, "x", "10.0.0.1"])).toEqual([
      ...first.map((_, i) => canonical(i + 1)),
      "10.0.0.1/32",
    ]);
    expect(rowsOf(["x", "FD00::1"])).toEqual(["fd00::1/128"]);
  });
});
