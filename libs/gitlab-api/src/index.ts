/**
 * `@kasmap/gitlab-api`: the one GitLab REST v4 client (retries, rate limits, pagination, typed
 * errors), zod schemas of the answers Kasmap reads, and hook/audit-event payloads classified into
 * what changed; GitLab's internal `agent_info` API with the KAS JWT (the KAS-secret option).
 */
export * from "./agent-info.ts";
export * from "./classify-hook.ts";
export * from "./client.ts";
export * from "./errors.ts";
export * from "./hooks.ts";
export * from "./kas-jwt.ts";
export * from "./paths.ts";
export * from "./schemas.ts";
