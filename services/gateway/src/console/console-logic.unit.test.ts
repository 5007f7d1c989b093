import { EVENT_TYPES } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { lookupQueryString, parseAddressQuery } from "./public/address-query.js";
import { detailOf, sentenceForApiError } from "./public/error-sentence.js";
import { LIVE_EVENT_TYPES, retryDelayMs } from "./public/live.js";
import { provenanceOf } from "./public/provenance.js";
import { buildTimeline, changedFields, highlightsOf } from "./public/timeline.js";
import { expectationsOf, shellQuote, verifyCommand } from "./public/verify-command.js";

describe("parseAddressQuery (the search box)", () => {
  it.each([
    ["52.1.2.3", { kind: "ip", ip: "52.1.2.3" }],
    ["  10.0.1.1 ", { kind: "ip", ip: "10.0.1.1" }],
    ["fd00:1::5", { kind: "ip", ip: "fd00:1::5" }],
    ["::ffff:10.0.0.1", { kind: "ip", ip: "::ffff:10.0.0.1" }],
    ["2001:db8:0:0:0:0:0:1", { kind: "ip", ip: "2001:db8:0:0:0:0:0:1" }],
    ["10.0.0.0/16", { kind: "cidr", cidr: "10.0.0.0/16" }],
    ["10.0.0.0/08", { kind: "cidr", cidr: "10.0.0.0/8" }],
    ["fd00:10:245::/56", { kind: "cidr", cidr: "fd00:10:245::/56" }],
    ["0.0.0.0/0", { kind: "cidr", cidr: "0.0.0.0/0" }],
  ])("reads %j", (input, expected) => {
    expect(parseAddressQuery(input)).toEqual(expected);
  });

  it.each([
    ["", "Type an IP address"],
    ["256.1.1.1", "is not an IP address"],
    ["1.2.3", "is not an IP address"],
    ["prod-cluster", "is not an IP address"],
    ["1::2::3", "is not an IP address"],
    ["1:2:3:4:5:6:7:8:9", "is not an IP address"],
    ["10.0.0.0/33", "from 0 to 32"],
    ["fd00::/129", "from 0 to 128"],
    ["10.0.0.0/x", "from 0 to 32"],
    ["host/16", 'so "host/16" is not a range'],
  ])("refuses %j with a sentence", (input, sentence) => {
    const parsed = parseAddressQuery(input);
    expect(parsed.kind).toBe("invalid");
    expect(parsed.kind === "invalid" ? parsed.message : "").toContain(sentence);
  });

  it("builds the lookup route's query, encoded", () => {
    expect(lookupQueryString({ kind: "ip", ip: "fd00::5" })).toBe("ip=fd00%3A%3A5");
    expect(lookupQueryString({ kind: "cidr", cidr: "10.0.0.0/16" })).toBe("cidr=10.0.0.0%2F16");
  });
});

describe("provenanceOf (each value's source)", () => {
  const sources = {
    pod_cidrs: { kind: "observed", source: "node.spec.podCIDRs" },
    service_cidrs: {
      kind: "inferred",
      source: "service/default/kubernetes",
      detail: "the smallest range holding the Service IP",
    },
    cluster_name: { kind: "configured", source: "--cluster-name" },
    kubernetes_version: { kind: "missing", reason: "forbidden", detail: "GET /version: 403" },
    api_endpoint_ips: {
      kind: "observed",
      source: "EndpointSlice default/kubernetes",
      detail: "api_endpoint_ip first",
    },
    region: { kind: "missing", reason: "not-exposed-by-platform" },
  };
  it.each([
    ["pod_cidrs", "observed", "observed", "Read from node.spec.podCIDRs."],
    [
      "service_cidrs",
      "inferred",
      "inferred",
      "Inferred from service/default/kubernetes. The smallest range holding the Service IP.",
    ],
    ["cluster_name", "configured", "configured", "Given to the collector (--cluster-name)."],
    [
      "kubernetes_version",
      "missing",
      "missing: forbidden",
      "No value: the collector's service account may not read it. GET /version: 403.",
    ],
    ["region", "missing", "missing: not-exposed-by-platform", "No value: this platform does not expose it."],
    [
      "api_endpoint_ips",
      "observed",
      "observed",
      "Read from EndpointSlice default/kubernetes. api_endpoint_ip first.",
    ],
    ["zones", "unrecorded", "no source recorded", "The collector did not say where this came from."],
  ])("labels %s", (field, kind, label, sentence) => {
    expect(provenanceOf(field, sources)).toEqual({ kind, label, sentence });
  });

  it("copes with no sources at all and an unknown kind", () => {
    expect(provenanceOf("pod_cidrs", undefined).kind).toBe("unrecorded");
    expect(provenanceOf("pod_cidrs", { pod_cidrs: { kind: "guessed" } }).label).toBe("unknown source");
  });
});

describe("the timeline's highlights", () => {
  const snapshot = (at: string, hash: string, info: Record<string, unknown>) => ({
    observed_at: at,
    content_hash: hash,
    cluster_info: info,
  });
  const base = {
    cluster_uid: "uid-1",
    cluster_name: "prod",
    api_endpoint: "https://10.0.0.1:6443",
    node_ips: { internal: ["10.0.1.1"], external: [] },
    pod_cidrs: ["10.244.0.0/16"],
    node_count: 2,
  };

  it("marks identity, endpoint and ranges from the changed fields", () => {
    expect(highlightsOf(["node_count", "agent_pod_ip"])).toEqual([]);
    expect(highlightsOf(["pod_cidrs", "cluster_uid"])).toEqual(["identity", "ranges"]);
    expect(highlightsOf(["api_endpoint_ip"])).toEqual(["endpoint"]);
  });

  it("compares each snapshot with the one before it; node counts alone are no highlight", () => {
    expect(changedFields(base, { ...base, node_count: 3 })).toEqual([]);
    expect(changedFields(base, { ...base, node_ips: { internal: ["10.0.1.9"], external: [] } })).toEqual([
      "node_ips",
    ]);
    expect(changedFields(null, base)).toEqual([
      "cluster_uid",
      "cluster_name",
      "api_endpoint",
      "node_ips",
      "pod_cidrs",
    ]);
  });

  it("merges snapshots and audit events newest first, an identity event highlighted even without changed fields", () => {
    const history = [
      snapshot("2026-01-03T00:00:00Z", "c", { ...base, cluster_uid: "uid-2" }),
      snapshot("2026-01-02T00:00:00Z", "b", { ...base, node_count: 5 }),
      snapshot("2026-01-01T00:00:00Z", "a", base),
    ];
    const audits = [
      {
        id: 7,
        event_name: "cluster_agent_cluster_changed",
        created_at: "2026-01-03T00:00:00Z",
        details: { custom_message: "Cluster changed" },
      },
      {
        id: 6,
        event_name: "cluster_agent_cluster_info_changed",
        created_at: "2026-01-01T00:00:01Z",
        details: { changed_fields: ["api_endpoint", "pod_cidrs"], custom_message: "" },
      },
    ];
    const timeline = buildTimeline(history, audits);
    expect(timeline.map((e) => [e.key, e.highlights])).toEqual([
      ["audit-7", ["identity"]],
      ["snapshot-c-2026-01-03T00:00:00Z", ["identity"]],
      ["snapshot-b-2026-01-02T00:00:00Z", []],
      ["audit-6", ["endpoint", "ranges"]],
      ["snapshot-a-2026-01-01T00:00:00Z", []],
    ]);
    expect(timeline[3]?.title).toBe("cluster_agent_cluster_info_changed");
    expect(timeline[4]?.title).toBe("First snapshot of the cluster");
  });
});

describe("sentenceForApiError", () => {
  it.each([
    [0, null, "the Kasmap gateway did not answer"],
    [401, { message: "401 Unauthorized" }, "your token was not accepted"],
    [403, { error: "insufficient_scope" }, "your token may not do this (insufficient_scope)"],
    [404, { message: "404 Project Not Found" }, "it does not exist, or you do not have access to it"],
    [400, { error: "ip is invalid" }, "the request was not accepted — ip is invalid"],
    [429, { message: "429 Too Many Requests" }, "too many requests"],
    [503, { message: "503 Service Unavailable" }, "unavailable right now"],
    [500, { message: "500 Internal Server Error" }, "the server failed (500)"],
    [409, { message: "409 Conflict" }, "answered 409 (Conflict)"],
  ])("%i reads as a sentence", (status, body, part) => {
    const sentence = sentenceForApiError(status, body, "load the agent");
    expect(sentence).toMatch(/^Could not load the agent: /);
    expect(sentence).toContain(part);
    expect(sentence).not.toContain("{");
  });

  it("reads model errors as words", () => {
    expect(detailOf({ message: { path: ["has already been taken"] } })).toBe("path has already been taken");
    expect(detailOf("<html>")).toBe("");
  });
});

describe("the verify form and its kasmap-verify command", () => {
  it("splits ranges, keeps names whole, leaves blanks out", () => {
    expect(
      expectationsOf({
        pod_cidrs: "10.244.0.0/16, fd00::/8\n10.0.0.0/8",
        cluster_name: "prod west",
        platform: " ",
      }),
    ).toEqual({
      pod_cidrs: ["10.244.0.0/16", "fd00::/8", "10.0.0.0/8"],
      cluster_name: "prod west",
    });
  });

  it("quotes what a shell would split", () => {
    expect(shellQuote("acme/platform:prod-agent")).toBe("acme/platform:prod-agent");
    expect(shellQuote("prod west")).toBe("'prod west'");
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
  });

  it("writes the flags of cli/kasmap-verify", () => {
    expect(
      verifyCommand("acme/platform/clusters", "prod-agent", {
        node_ips: ["10.0.0.0/8", "52.1.2.3"],
        cluster_name: "prod west",
      }),
    ).toBe(
      "kasmap-verify --agent acme/platform/clusters:prod-agent --expect-node-ips 10.0.0.0/8,52.1.2.3 --expect-cluster-name 'prod west'",
    );
  });
});

describe("the live stream client", () => {
  it("listens to every event type the gateway names", () => {
    expect([...LIVE_EVENT_TYPES].sort()).toEqual(Object.values(EVENT_TYPES).sort());
  });

  it("backs off 1 s, 2 s, 4 s … up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(retryDelayMs)).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });
});
