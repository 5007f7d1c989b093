import { describe, expect, it } from "vitest";
import { ObjectStore } from "./object-store.ts";
import { findResourceByKind, groupKindKey } from "./resource-catalog.ts";

const NODES = groupKindKey("", "Node");

function node(name: string, labels: Record<string, string> = {}) {
  return { apiVersion: "v1", kind: "Node", metadata: { name, labels } };
}

describe("ObjectStore", () => {
  it("gives every change the next global resourceVersion and keeps uid and creation time", () => {
    const store = new ObjectStore(100);
    const first = store.upsert(node("a"));
    const second = store.upsert(node("a", { zone: "x" }));
    expect(first.metadata.resourceVersion).toBe("1");
    expect(second.metadata.resourceVersion).toBe("2");
    expect(second.metadata.uid).toBe(first.metadata.uid);
    expect(second.metadata.creationTimestamp).toBe(first.metadata.creationTimestamp);
    expect(store.delete({ apiVersion: "v1", kind: "Node", name: "a" })).toBe(true);
    expect(store.resourceVersion).toBe(3);
    expect(store.eventsSince(0, NODES)).toEqual({
      expired: false,
      events: [
        expect.objectContaining({ type: "ADDED", resourceVersion: 1 }),
        expect.objectContaining({ type: "MODIFIED", resourceVersion: 2 }),
        expect.objectContaining({ type: "DELETED", resourceVersion: 3 }),
      ],
    });
  });

  it("stores one copy per group and kind whatever version it was written with", () => {
    const store = new ObjectStore(100);
    store.upsert({
      apiVersion: "networking.k8s.io/v1beta1",
      kind: "ServiceCIDR",
      metadata: { name: "kubernetes" },
    });
    const found = store.get({ apiVersion: "networking.k8s.io/v1", kind: "ServiceCIDR", name: "kubernetes" });
    expect(found?.metadata.name).toBe("kubernetes");
  });

  it("refuses namespaced objects without a namespace and kinds it does not serve", () => {
    const store = new ObjectStore(100);
    expect(() => store.upsert({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" } })).toThrow(
      /namespace/,
    );
    expect(() =>
      store.upsert({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } }),
    ).toThrow(/does not serve/);
  });

  it("expires resourceVersions older than the bounded history", () => {
    const store = new ObjectStore(2);
    for (const name of ["a", "b", "c"]) store.upsert(node(name));
    expect(store.eventsSince(0, NODES).expired).toBe(true);
    const since1 = store.eventsSince(1, NODES);
    expect(since1.expired === false && since1.events.map((e) => e.object.metadata.name)).toEqual(["b", "c"]);
  });

  it("after compaction expires every older resourceVersion but serves the current one", () => {
    const store = new ObjectStore(100);
    store.upsert(node("a"));
    store.compact();
    expect(store.eventsSince(1, NODES).expired).toBe(true);
    expect(store.eventsSince(store.resourceVersion, NODES)).toEqual({ expired: false, events: [] });
  });

  it("lists sorted by namespace and name and reports which groups hold objects", () => {
    const store = new ObjectStore(100);
    for (const name of ["c", "a", "b"]) store.upsert(node(name));
    const descriptor = findResourceByKind("", "Node");
    if (descriptor === undefined) throw new Error("Node must be in the catalog");
    expect(store.list(descriptor).map((o) => o.metadata.name)).toEqual(["a", "b", "c"]);
    expect(store.hasObjectsInGroup("")).toBe(true);
    expect(store.hasObjectsInGroup("config.openshift.io")).toBe(false);
  });
});
