export * from "./backoff.ts";
export * from "./bus.ts";
export * from "./checkpointed-consume.ts";
export * from "./commands.ts";
export * from "./dead-letter.ts";
export * from "./event-message.ts";
export * from "./publish.ts";
export * from "./streams.ts";
