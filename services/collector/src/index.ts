export * from "./collector.ts";
export * from "./config.ts";
export * from "./kube/cluster-sources.ts";
export * from "./kube/kube-config.ts";
export * from "./kube/resource-watcher.ts";
