import { describe, expect, it } from "vitest";
import { parseResourcePath } from "./resource-path.ts";

describe("parseResourcePath", () => {
  it.each([
    ["/api/v1/nodes", { group: "", version: "v1", resource: "nodes" }],
    ["/api/v1/nodes/k8s-cp-1", { group: "", version: "v1", resource: "nodes", name: "k8s-cp-1" }],
    ["/api/v1/namespaces", { group: "", version: "v1", resource: "namespaces" }],
    [
      "/api/v1/namespaces/kube-system",
      { group: "", version: "v1", resource: "namespaces", name: "kube-system" },
    ],
    [
      "/api/v1/namespaces/kube-system/configmaps",
      { group: "", version: "v1", resource: "configmaps", namespace: "kube-system" },
    ],
    [
      "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
      { group: "", version: "v1", resource: "configmaps", namespace: "kube-system", name: "kubeadm-config" },
    ],
    [
      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
      { group: "discovery.k8s.io", version: "v1", resource: "endpointslices", namespace: "default" },
    ],
    [
      "/apis/networking.k8s.io/v1beta1/servicecidrs/kubernetes",
      { group: "networking.k8s.io", version: "v1beta1", resource: "servicecidrs", name: "kubernetes" },
    ],
  ])("%s", (path, expected) => {
    expect(parseResourcePath(path)).toEqual(expected);
  });

  it.each(["/", "/api", "/api/v1", "/apis/discovery.k8s.io/v1", "/api/v1/nodes/a/status"])(
    "%s is not a resource path",
    (path) => {
      expect(parseResourcePath(path)).toBeUndefined();
    },
  );
});
