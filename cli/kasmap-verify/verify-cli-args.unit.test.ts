import { describe, expect, it } from "vitest";
import { renderVerificationTable } from "./verification-table.ts";
import { parseAgentRef, parseVerifyArgs, UsageError } from "./verify-cli-args.ts";

describe("parseAgentRef", () => {
  it.each([
    ["42", { kind: "id", id: 42 }],
    ["acme/infra:prod-agent", { kind: "in-project", projectPath: "acme/infra", name: "prod-agent" }],
    ["acme/infra:42", { kind: "id-in-project", projectPath: "acme/infra", id: 42 }],
    ["/acme/infra/:prod", { kind: "in-project", projectPath: "acme/infra", name: "prod" }],
  ])("%s", (text, expected) => {
    expect(parseAgentRef(text)).toEqual(expected);
  });

  it.each(["prod-agent", ":prod", "acme/infra:"])("refuses %s", (text) => {
    expect(() => parseAgentRef(text)).toThrow(UsageError);
  });
});

describe("parseVerifyArgs", () => {
  it("collects comma-separated and repeated ranges and text expectations", () => {
    const command = parseVerifyArgs([
      "--agent",
      "acme/infra:prod",
      "--expect-node-ips",
      "10.0.0.0/16, 52.0.0.0/8",
      "--expect-node-ips=fd00::/8",
      "--expect-cluster-name",
      "prod",
      "--json",
    ]);
    expect(command.expectations).toEqual({
      node_ips: ["10.0.0.0/16", "52.0.0.0/8", "fd00::/8"],
      cluster_name: "prod",
    });
    expect(command.json).toBe(true);
  });

  it.each([
    ["no agent", ["--expect-node-ips", "10.0.0.0/8"]],
    ["no expectation", ["--agent", "1"]],
    ["an empty range list", ["--agent", "1", "--expect-pod-cidrs", ","]],
    ["an unknown flag", ["--agent", "1", "--expect-node-ip", "10.0.0.0/8"]],
    ["a positional", ["--agent", "1", "extra"]],
    ["--help", ["--help"]],
  ])("is a usage error with %s", (_what, argv) => {
    expect(() => parseVerifyArgs(argv)).toThrow(UsageError);
  });
});

describe("renderVerificationTable", () => {
  it("aligns one line per check and ends with a summary", () => {
    const table = renderVerificationTable(
      {
        ok: false,
        expected: { node_ips: ["10.0.0.0/16"], platform: "gke", pod_cidrs: ["10.244.0.0/16", "fd00::/8"] },
        checks: [
          {
            field: "node_ips.internal",
            expectation: "node_ips",
            value: "10.0.1.1",
            within: "10.0.0.0/16",
            ok: true,
          },
          {
            field: "platform",
            expectation: "platform",
            value: "eks",
            expected: "gke",
            ok: false,
            reason: 'platform is "eks", expected "gke"',
          },
          {
            field: "pod_cidrs",
            expectation: "pod_cidrs",
            value: null,
            ok: false,
            reason: "not reported: forbidden",
          },
        ],
      },
      "acme/infra:prod",
    );
    expect(table.split("\n")).toEqual([
      "STATUS  FIELD              VALUE     EXPECTED                REASON",
      "ok      node_ips.internal  10.0.1.1  10.0.0.0/16",
      'FAIL    platform           eks       gke                     platform is "eks", expected "gke"',
      "FAIL    pod_cidrs          (none)    10.244.0.0/16,fd00::/8  not reported: forbidden",
      "kasmap-verify: 2 of 3 checks failed for acme/infra:prod",
    ]);
  });
});
