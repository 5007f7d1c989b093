import { deriveClusterFacts } from "@kasmap/cluster-info";
import { buildDualStackNodes, largeDualStackObservation } from "@kasmap/cluster-info/testing";
import {
  AUDIT_EVENT_TYPES,
  CLUSTER_FACTS_LIMITS,
  type ClusterFacts,
  type ClusterInfoChangedDetails,
  ClusterInfoChangedDetailsSchema,
  createTopology,
  StoredClusterFactsSchema,
} from "@kasmap/contracts";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import { type AuditPreviousState, auditEventsFor, NO_PREVIOUS_STATE } from "./audit-events.ts";

/**
 * Security review: `cluster_agent_cluster_info_changed` stored every audited list in full, before
 * and after, so each autoscaling step of a 5,000-node dual-stack cluster wrote a ~300 KB row and
 * a page of 100 audit events reached tens of MB. Every row now has a bounded size.
 */
const events = testEvents(createTopology("audit_cluster_info_bounds"));
const NOW = new Date("2026-03-01T10:00:00.000Z");
const LATER = new Date("2026-03-01T10:05:00.000Z");
/** The bound this file holds the 5,000-node autoscaling step to: JSON bytes of `details`. */
const AUTOSCALING_STEP_BYTES = 32 * 1024;
/** The bound of any row, whatever the snapshot (`ClusterInfoChangedDetailsSchema`'s ~96 KB). */
const ANY_ROW_BYTES = 96 * 1024;

const previousWith = (snapshot: ClusterFacts | null): AuditPreviousState => ({
  ...NO_PREVIOUS_STATE,
  agent: { name: "agent-5", projectId: 3 },
  entity: { id: 3, path: "group-2/project-3" },
  snapshot,
});

function infoChangedDetails(after: ClusterFacts, before: ClusterFacts | null): ClusterInfoChangedDetails {
  const drafts = auditEventsFor(events.snapshot(5, after), previousWith(before)).filter(
    (d) => d.event_type === AUDIT_EVENT_TYPES.clusterInfoChanged,
  );
  expect(drafts).toHaveLength(1);
  return drafts[0]?.details as ClusterInfoChangedDetails;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** The addresses nodes `indexes` of `buildDualStackNodes` report, sorted. */
function reportedBy(indexes: number[]) {
  const nodes = buildDualStackNodes(Math.max(...indexes) + 1);
  const internal: string[] = [];
  const external: string[] = [];
  for (const index of indexes) {
    const node = nodes[index];
    for (const address of node?.status?.addresses ?? []) {
      if (address.type === "InternalIP") internal.push(address.address);
      if (address.type === "ExternalIP") external.push(address.address);
    }
  }
  return { internal: internal.sort(), external: external.sort() };
}

describe("cluster_agent_cluster_info_changed of a 5,000-node dual-stack cluster", () => {
  // Autoscaling to 5,000 nodes (the most `CLUSTER_FACTS_LIMITS` holds uncut): of 4,999 nodes,
  // 10 and 4000 leave and 4999–5001 join.
  const before = deriveClusterFacts(largeDualStackObservation(4_999), NOW);
  const grown = largeDualStackObservation(5_002);
  const afterNodes = buildDualStackNodes(5_002).filter((_, i) => i !== 10 && i !== 4000);
  const after = deriveClusterFacts({ ...grown, nodes: { state: "ok", value: afterNodes } }, LATER);
  const added = reportedBy([4999, 5000, 5001]);
  const removed = reportedBy([10, 4000]);

  it("stays under 32 KiB and names exactly the addresses added and removed", () => {
    expect(after.node_ips.internal).toHaveLength(10_000);
    expect(after.node_count).toBe(5_000);
    const details = infoChangedDetails(after, before);

    expect(bytes(details)).toBeLessThan(AUTOSCALING_STEP_BYTES);
    expect(details.changed_fields).toEqual(["node_ips", "pod_cidrs"]);
    const cut = details.cut_lists ?? {};
    expect(Object.keys(cut).sort()).toEqual(["node_ips.external", "node_ips.internal"]);
    const sorted = (list: string[] | undefined) => [...(list ?? [])].sort();
    expect({ ...cut["node_ips.internal"], added: [], removed: [] }).toEqual({
      before_count: 9_998,
      after_count: 10_000,
      added_count: 6,
      added: [],
      removed_count: 4,
      removed: [],
    });
    expect(sorted(cut["node_ips.internal"]?.added)).toEqual(added.internal);
    expect(sorted(cut["node_ips.internal"]?.removed)).toEqual(removed.internal);
    expect(cut["node_ips.external"]).toMatchObject({ before_count: 4_999, after_count: 5_000 });
    expect(cut["node_ips.external"]).toMatchObject({ added_count: 3, removed_count: 2 });
    expect(sorted(cut["node_ips.external"]?.added)).toEqual(added.external);
    expect(sorted(cut["node_ips.external"]?.removed)).toEqual(removed.external);
    // Adjacent node ranges merge: 10 ranges, whole, as two nodes leaving splits them.
    expect(details.before?.pod_cidrs).toEqual(before.pod_cidrs);
    expect(details.after.pod_cidrs).toEqual(after.pod_cidrs);
    expect(details.cut_strings).toBeUndefined();
  });

  it("keeps the first 100 entries of each cut list in before and after, the rest as is", () => {
    const details = infoChangedDetails(after, before);
    expect(details.before?.node_ips.internal).toEqual(before.node_ips.internal.slice(0, 100));
    expect(details.after.node_ips.internal).toEqual(after.node_ips.internal.slice(0, 100));
    expect(details.before?.node_ips.external).toEqual(before.node_ips.external.slice(0, 100));
    expect(details.after.service_cidrs).toEqual(after.service_cidrs);
    expect(details.after.api_endpoint).toBe(after.api_endpoint);
    expect(details.content_hash).toBe(events.snapshot(5, after).data.content_hash);
    expect(ClusterInfoChangedDetailsSchema.parse(details)).toEqual(details);
  });

  it("drafts the same event (id and details) every time, as a rebuild must", () => {
    const event = events.snapshot(5, after);
    const first = auditEventsFor(event, previousWith(before));
    const again = auditEventsFor(event, previousWith(structuredClone(before)));
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    expect(first.map((d) => d.event_id)).toEqual([event.id]);
  });

  it("bounds the first snapshot too: every entry is added, none before", () => {
    const details = infoChangedDetails(after, null);
    expect(bytes(details)).toBeLessThan(AUTOSCALING_STEP_BYTES);
    expect(details.before).toBeNull();
    expect(details.cut_lists?.["node_ips.internal"]).toEqual({
      before_count: null,
      after_count: 10_000,
      added_count: 10_000,
      added: after.node_ips.internal.slice(0, 100),
      removed_count: 0,
      removed: [],
    });
  });
});

describe("cluster_agent_cluster_info_changed bounds", () => {
  const nodeIps = (count: number, offset = 0) =>
    Array.from(
      { length: count },
      (_, i) => `10.1.${Math.floor((i + offset) / 250)}.${((i + offset) % 250) + 1}`,
    ).sort();

  it("lists a field whose list changed only beyond the first 100 entries", () => {
    const ips = nodeIps(300);
    const before = buildClusterFacts({ node_ips: { external: [], internal: ips } });
    const after = buildClusterFacts({
      node_ips: { external: [], internal: [...ips.slice(0, 299), "10.9.9.9"] },
    });
    const details = infoChangedDetails(after, before);
    expect(details.changed_fields).toEqual(["node_ips"]);
    expect(details.before?.node_ips.internal).toEqual(details.after.node_ips.internal);
    expect(details.cut_lists).toEqual({
      "node_ips.internal": {
        before_count: 300,
        after_count: 300,
        added_count: 1,
        added: ["10.9.9.9"],
        removed_count: 1,
        removed: [ips[299]],
      },
    });
  });

  it("keeps lists of up to 100 entries whole, and cuts both sides once one passes 100", () => {
    const hundred = buildClusterFacts({ node_ips: { external: [], internal: nodeIps(100) } });
    const grown = buildClusterFacts({ node_ips: { external: [], internal: nodeIps(101) } });
    const whole = infoChangedDetails(hundred, buildClusterFacts());
    expect(whole.after.node_ips.internal).toHaveLength(100);
    expect(whole.cut_lists).toBeUndefined();
    const cut = infoChangedDetails(grown, hundred);
    expect(cut.before?.node_ips.internal).toEqual(nodeIps(100));
    expect(cut.after.node_ips.internal).toEqual(nodeIps(101).slice(0, 100));
    expect(cut.cut_lists?.["node_ips.internal"]).toMatchObject({
      before_count: 100,
      after_count: 101,
      added: ["10.1.0.101"],
      removed: [],
    });
  });

  it("cuts a string field past 1,024 characters, never inside a surrogate pair, and names it", () => {
    const name = `${"n".repeat(1023)}😀${"x".repeat(5000)}`;
    const details = infoChangedDetails(buildClusterFacts({ cluster_name: name }), buildClusterFacts());
    expect(details.changed_fields).toEqual(["cluster_name"]);
    expect(details.after.cluster_name).toBe("n".repeat(1023));
    expect(details.before?.cluster_name).toBe("prod");
    expect(details.cut_strings).toEqual({ cluster_name: { before_length: 4, after_length: name.length } });
    expect(details.cut_lists).toBeUndefined();
  });

  it("stays under 96 KiB with every list at its limit, longest entries, all replaced, and huge strings", () => {
    // 45 characters: the longest IPv6 text; ranges add `/128`.
    const ip = (side: number, i: number) =>
      `ffff:ffff:ffff:ffff:ffff:ffff:${100 + side}.${100 + Math.floor(i / 100)}.${100 + (i % 100)}.255`;
    const list = (side: number, count: number, suffix = "") =>
      Array.from({ length: count }, (_, i) => `${ip(side, i)}${suffix}`).sort();
    // Huge strings: facts stored before the contract bounded their text (StoredClusterFactsSchema).
    const huge = (side: number) =>
      StoredClusterFactsSchema.parse(
        buildClusterFacts({
          api_endpoint: `https://${"a".repeat(200_000)}${side}`,
          cluster_name: `${"b".repeat(200_000)}${side}`,
          cluster_context: `${"c".repeat(200_000)}${side}`,
          region: `${"d".repeat(200_000)}${side}`,
          node_ips: {
            external: list(side, CLUSTER_FACTS_LIMITS.nodeIpsPerType),
            internal: list(side + 2, CLUSTER_FACTS_LIMITS.nodeIpsPerType),
          },
          pod_cidrs: list(side, CLUSTER_FACTS_LIMITS.podCidrs, "/128"),
          service_cidrs: list(side + 2, CLUSTER_FACTS_LIMITS.serviceCidrs, "/128"),
        }),
      );
    const details = infoChangedDetails(huge(1), huge(0));
    expect(bytes(details)).toBeLessThan(ANY_ROW_BYTES);
    expect(details.cut_lists?.service_cidrs).toMatchObject({ added_count: 256, removed_count: 256 });
    expect(Object.keys(details.cut_strings ?? {})).toEqual([
      "api_endpoint",
      "cluster_name",
      "cluster_context",
      "region",
    ]);
  });
});

describe("cluster_agent_cluster_info_changed of a small cluster", () => {
  it("is the values in full, byte for byte as before the bounds", () => {
    const before = buildClusterFacts();
    const after = buildClusterFacts({
      api_endpoint: "https://10.9.0.1:6443",
      api_endpoint_ip: "10.9.0.1",
      node_ips: { external: ["203.0.113.4"], internal: ["10.0.1.1", "10.0.1.2"] },
    });
    const event = events.snapshot(5, after);
    const [draft] = auditEventsFor(event, previousWith(before));
    const values = (facts: ClusterFacts) => ({
      api_endpoint: facts.api_endpoint,
      api_endpoint_ip: facts.api_endpoint_ip,
      cluster_name: facts.cluster_name,
      cluster_context: facts.cluster_context,
      node_ips: facts.node_ips,
      pod_cidrs: facts.pod_cidrs,
      service_cidrs: facts.service_cidrs,
      platform: facts.platform,
      region: facts.region,
    });
    expect(JSON.stringify(draft?.details)).toBe(
      JSON.stringify({
        changed_fields: ["api_endpoint", "api_endpoint_ip", "node_ips"],
        before: values(before),
        after: values(after),
        content_hash: event.data.content_hash,
      }),
    );
    const [first] = auditEventsFor(event, previousWith(null));
    expect(JSON.stringify(first?.details)).toBe(
      JSON.stringify({
        changed_fields: [
          "api_endpoint",
          "api_endpoint_ip",
          "cluster_name",
          "cluster_context",
          "node_ips",
          "pod_cidrs",
          "service_cidrs",
          "platform",
          "region",
        ],
        before: null,
        after: values(after),
        content_hash: event.data.content_hash,
      }),
    );
  });
});
