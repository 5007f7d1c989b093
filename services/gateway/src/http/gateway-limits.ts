/**
 * The gateway's HTTP limits, each documented in the README ("Limits"). Beyond a limit the
 * client gets a clear 4xx (413, 408, 429), never a 5xx.
 */
export type GatewayLimits = {
  /** Largest request body read, bytes; larger is `413` naming the figure. */
  bodyLimitBytes: number;
  /** Time to receive a whole request (headers and body), ms; slower is `408` and the socket closed. */
  requestTimeoutMs: number;
  /** Socket inactivity allowed, ms; an idle socket is closed (the live stream sends a comment every 15 s). */
  connectionTimeoutMs: number;
  /** Live event streams one user may hold open on one gateway process; more is `429`. */
  liveConnectionsPerUser: number;
};

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  bodyLimitBytes: 1024 * 1024,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  liveConnectionsPerUser: 5,
};

/** Seconds a client should wait after a 503 (a dependency outage) or a 429 before retrying. */
export const RETRY_AFTER_SECONDS = 5;
