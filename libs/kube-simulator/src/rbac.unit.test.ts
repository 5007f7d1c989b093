import { describe, expect, it } from "vitest";
import { type AccessRequest, type AccessRule, forbiddenMessage, isAllowed } from "./rbac.ts";

const user = "system:serviceaccount:gitlab-agent:kasmap";
const rules: AccessRule[] = [
  { verbs: ["list", "watch", "get"], resource: "nodes", apiGroup: "" },
  {
    verbs: ["get"],
    resource: "configmaps",
    apiGroup: "",
    namespace: "kube-system",
    resourceNames: ["kubeadm-config"],
  },
  { verbs: ["list"], resource: "*", apiGroup: "discovery.k8s.io" },
];

function request(overrides: Partial<AccessRequest>): AccessRequest {
  return { user, verb: "list", resource: "nodes", apiGroup: "", ...overrides };
}

describe("isAllowed", () => {
  it.each<[string, Partial<AccessRequest>, boolean]>([
    ["list nodes", {}, true],
    ["watch nodes", { verb: "watch" }, true],
    ["list pods", { resource: "pods" }, false],
    ["nodes in another group", { apiGroup: "metrics.k8s.io" }, false],
    [
      "get the named configmap",
      { verb: "get", resource: "configmaps", namespace: "kube-system", name: "kubeadm-config" },
      true,
    ],
    [
      "get another configmap",
      { verb: "get", resource: "configmaps", namespace: "kube-system", name: "kube-proxy" },
      false,
    ],
    [
      "get it in another namespace",
      { verb: "get", resource: "configmaps", namespace: "default", name: "kubeadm-config" },
      false,
    ],
    ["list configmaps unnamed", { resource: "configmaps", namespace: "kube-system" }, false],
    ["wildcard resource", { resource: "endpointslices", apiGroup: "discovery.k8s.io" }, true],
  ])("%s → %s", (_label, overrides, expected) => {
    expect(isAllowed(rules, request(overrides))).toBe(expected);
  });

  it("allows everything when no rules are configured", () => {
    expect(isAllowed(undefined, request({ resource: "secrets", verb: "get", name: "x" }))).toBe(true);
  });
});

describe("forbiddenMessage", () => {
  it("words a cluster-scoped denial like the real authorizer", () => {
    expect(forbiddenMessage(request({}))).toBe(
      `nodes is forbidden: User "${user}" cannot list resource "nodes" in API group "" at the cluster scope`,
    );
  });

  it("names the object, the qualified resource and the namespace", () => {
    expect(
      forbiddenMessage(
        request({
          verb: "get",
          resource: "endpointslices",
          apiGroup: "discovery.k8s.io",
          namespace: "default",
          name: "kubernetes",
        }),
      ),
    ).toBe(
      `endpointslices.discovery.k8s.io "kubernetes" is forbidden: User "${user}" cannot get resource "endpointslices" in API group "discovery.k8s.io" in the namespace "default"`,
    );
  });
});
