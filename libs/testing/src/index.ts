export * from "./cluster-facts.ts";
export * from "./gateway-client.ts";
