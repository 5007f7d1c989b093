import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/**
 * Paths redacted from every log line. Tokens are secrets: they may reach a log only as their
 * SHA-256 digest, so any field that could carry one is censored here as a second line of defence.
 */
export const REDACTED_PATHS = [
  "token",
  "plaintext",
  "*.token",
  "*.plaintext",
  "req.headers.authorization",
  "req.headers['private-token']",
  "req.headers['job-token']",
  "headers.authorization",
  "headers['private-token']",
  "headers['job-token']",
  // NATS nkey seeds: a seed is the private key of a NATS user.
  "nkeySeed",
  "*.nkeySeed",
  "NATS_NKEY_SEED",
  "*.NATS_NKEY_SEED",
];

/**
 * JSON-lines logger for one service (`{"level":30,"service":"projection",...}`); level from
 * `LOG_LEVEL` (default `info`; tests set `silent`).
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
