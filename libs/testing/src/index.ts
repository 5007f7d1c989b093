export * from "./cluster-facts.ts";
export * from "./dead-letters.ts";
export * from "./event-builders.ts";
export * from "./gateway-client.ts";
export * from "./gitlab-audit-entity.ts";
export * from "./gitlab-member-entity.ts";
export * from "./seeded-random.ts";
export * from "./sse-client.ts";
