import { describe, expect, it } from "vitest";
import { projectNode } from "./cluster-sources.ts";

describe("projectNode", () => {
  it("keeps the k3s/RKE2 server arguments and drops every other annotation", () => {
    const projected = projectNode({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: "server-1",
        annotations: {
          "k3s.io/node-args": '["server","--cluster-cidr","10.42.0.0/16"]',
          "node.alpha.kubernetes.io/ttl": "0",
          "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        },
      },
    });
    expect(projected?.metadata?.annotations).toEqual({
      "k3s.io/node-args": '["server","--cluster-cidr","10.42.0.0/16"]',
    });
  });

  it("adds no annotations key to a node without those annotations", () => {
    const projected = projectNode({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n", annotations: { a: "b" } },
    });
    expect(projected?.metadata).not.toHaveProperty("annotations");
  });
});
