import { describe, expect, it } from "vitest";
import { DEMO_CLUSTER_DIRECTORY } from "./demo-cluster-directory.ts";
import { loadObjectsFromDirectory, ObjectFileError, parseObjectFile } from "./load-objects.ts";

describe("parseObjectFile", () => {
  it("reads several YAML documents and skips empty ones", () => {
    const text =
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n";
    expect(parseObjectFile("ns.yaml", text).map((o) => o.metadata.name)).toEqual(["a", "b"]);
  });

  it("expands a List", () => {
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: [{ apiVersion: "v1", kind: "Node", metadata: { name: "n" } }],
    };
    expect(parseObjectFile("nodes.json", JSON.stringify(list))).toEqual(list.items);
  });

  it("names the file and the missing field", () => {
    const parse = () => parseObjectFile("broken.yaml", "apiVersion: v1\nkind: Node\nmetadata: {}\n");
    expect(parse).toThrow(ObjectFileError);
    expect(parse).toThrow(/broken\.yaml.*metadata\.name/);
  });

  it("rejects text that is not YAML", () => {
    expect(() => parseObjectFile("bad.yaml", "a: [unclosed")).toThrow(/bad\.yaml: not valid JSON or YAML/);
  });
});

describe("the demo-cluster fixtures", () => {
  it("load and hold the objects a collector reads", async () => {
    const objects = await loadObjectsFromDirectory(DEMO_CLUSTER_DIRECTORY);
    const names = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "Node//k8s-cp-1",
        "Node//k8s-worker-1",
        "Node//k8s-worker-2",
        "Service/default/kubernetes",
        "EndpointSlice/default/kubernetes",
        "ConfigMap/kube-public/cluster-info",
        "ConfigMap/kube-system/kubeadm-config",
        "ConfigMap/kube-system/kube-proxy",
        "Namespace//gitlab-agent",
        "ServiceCIDR//kubernetes",
      ]),
    );
    expect(objects.some((o) => o.kind === "Pod" && o.metadata.namespace === "gitlab-agent")).toBe(true);
  });
});
