export * from "./cluster-facts.ts";
