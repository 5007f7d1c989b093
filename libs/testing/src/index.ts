export * from "./kube-simulator/index.ts";
