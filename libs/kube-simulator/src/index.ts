export * from "./demo-cluster-directory.ts";
export * from "./discovery.ts";
export * from "./kube-object.ts";
export * from "./kube-simulator.ts";
export * from "./kubeconfig.ts";
export * from "./load-objects.ts";
export type { ObjectRef, WatchEventType } from "./object-store.ts";
export type { AccessRule } from "./rbac.ts";
export type { RequestLogEntry } from "./request-handler.ts";
