// Test support only (tests and benches): builders of Kubernetes objects and cluster
// observations. Production code never imports `@kasmap/cluster-info/testing`.
export * from "./kubernetes-objects.ts";
export * from "./large-cluster.ts";
export * from "./observations.ts";
