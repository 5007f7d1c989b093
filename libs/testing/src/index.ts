export * from "./cluster-facts.ts";
export * from "./event-builders.ts";
export * from "./gateway-client.ts";
