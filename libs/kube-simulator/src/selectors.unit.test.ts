import { describe, expect, it } from "vitest";
import type { KubeObject } from "./kube-object.ts";
import { matchesFields, matchesLabels, parseSelector, SelectorError } from "./selectors.ts";

const node: KubeObject = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "k8s-cp-1", labels: { "node-role.kubernetes.io/control-plane": "", zone: "a" } },
};
const pod: KubeObject = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "agent", namespace: "gitlab-agent" },
};

/**
 * One test per `[selector, selects]` row: whether the `kind` selector, parsed as the API server
 * parses `?labelSelector=` or `?fieldSelector=`, selects `object`.
 */
function selectorCases(kind: "label" | "field", object: KubeObject, rows: [string, boolean][]): void {
  it.each(rows)(`%j selects ${object.metadata.name}: %s`, (selector, expected) => {
    const parsed = parseSelector(selector, kind);
    expect(kind === "label" ? matchesLabels(object, parsed) : matchesFields(object, parsed)).toBe(expected);
  });
}

describe("label selectors", () => {
  selectorCases("label", node, [
    ["", true],
    ["zone=a", true],
    ["zone==a", true],
    ["zone=b", false],
    ["zone!=b", true],
    ["zone!=a", false],
    ["missing!=x", true],
    ["node-role.kubernetes.io/control-plane", true],
    ["node-role.kubernetes.io/worker", false],
    ["!node-role.kubernetes.io/worker", true],
    ["!zone", false],
    ["zone=a,node-role.kubernetes.io/control-plane", true],
    ["zone=a, missing", false],
  ]);
});

describe("field selectors", () => {
  selectorCases("field", pod, [
    ["metadata.name=agent", true],
    ["metadata.name!=agent", false],
    ["metadata.namespace=gitlab-agent", true],
    ["metadata.namespace=default,metadata.name=agent", false],
  ]);

  it("rejects fields the server does not index, as the API server does with 400", () => {
    expect(() => parseSelector("spec.nodeName=x", "field")).toThrow(SelectorError);
    expect(() => parseSelector("metadata.name", "field")).toThrow(SelectorError);
  });
});
