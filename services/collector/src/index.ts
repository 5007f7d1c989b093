export * from "./collector.ts";
export * from "./collector-metrics.ts";
export * from "./config.ts";
export * from "./kube/cluster-sources.ts";
export * from "./kube/kube-config.ts";
export * from "./kube/resource-watcher.ts";
// The bench sizes snapshots exactly as the publisher does before refusing a too-large one.
export { encodedBytes } from "./snapshot-publisher.ts";
