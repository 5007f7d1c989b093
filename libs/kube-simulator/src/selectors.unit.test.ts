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

describe("label selectors", () => {
  it.each([
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
  ])("%j matches the control-plane node: %s", (selector, expected) => {
    expect(matchesLabels(node, parseSelector(selector, "label"))).toBe(expected);
  });
});

describe("field selectors", () => {
  it.each([
    ["metadata.name=agent", true],
    ["metadata.name!=agent", false],
    ["metadata.namespace=gitlab-agent", true],
    ["metadata.namespace=default,metadata.name=agent", false],
  ])("%j matches gitlab-agent/agent: %s", (selector, expected) => {
    expect(matchesFields(pod, parseSelector(selector, "field"))).toBe(expected);
  });

  it("rejects fields the server does not index, as the API server does with 400", () => {
    expect(() => parseSelector("spec.nodeName=x", "field")).toThrow(SelectorError);
    expect(() => parseSelector("metadata.name", "field")).toThrow(SelectorError);
  });
});
