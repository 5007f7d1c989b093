import type { Bus } from "./bus.ts";

/** What JetStream stores for this topology, read from the server. */
export type JetStreamStorage = {
  /** File storage the account uses, in bytes (every stream of the account, not only Kasmap's). */
  usedBytes: number;
  /** The account's file storage limit in bytes, or null when the account has none. */
  limitBytes: number | null;
  /** Each declared stream's size, in bytes and messages. */
  streams: { name: string; bytes: number; messages: number }[];
};

/**
 * When readiness warns: at `ratio` of the account's storage limit, or past `bytes` (for an
 * account without a limit, where the server's disk is the limit), whichever comes first.
 */
export type StorageWarningThreshold = { ratio: number; bytes: number | null };

/** Default: warn at 80 % of the account's storage limit. */
export const DEFAULT_STORAGE_WARNING: StorageWarningThreshold = { ratio: 0.8, bytes: null };

/** Reads the account's storage use and each declared stream's size (`$JS.API.INFO`, `$JS.API.STREAM.INFO.<stream>`). */
export async function readJetStreamStorage(bus: Bus): Promise<JetStreamStorage> {
  const account = await bus.jsm.getAccountInfo();
  const streams = [];
  for (const declaration of bus.topology.streams) {
    const info = await bus.jsm.streams.info(declaration.name).catch(() => null);
    if (info)
      streams.push({ name: declaration.name, bytes: info.state.bytes, messages: info.state.messages });
  }
  const limit = account.limits.max_storage;
  return { usedBytes: account.storage, limitBytes: limit > 0 ? limit : null, streams };
}

/** The readiness warning for this reading, or null below the threshold. */
export function storageWarning(storage: JetStreamStorage, threshold: StorageWarningThreshold): string | null {
  const { usedBytes, limitBytes } = storage;
  if (limitBytes !== null && usedBytes >= limitBytes * threshold.ratio) {
    const percent = Math.round((usedBytes / limitBytes) * 100);
    return `JetStream storage at ${percent}% of the account limit (${usedBytes} of ${limitBytes} bytes; warning at ${Math.round(threshold.ratio * 100)}%): the audit streams refuse new events when it is full`;
  }
  if (threshold.bytes !== null && usedBytes >= threshold.bytes) {
    return `JetStream storage uses ${usedBytes} bytes, past the warning threshold of ${threshold.bytes} bytes`;
  }
  return null;
}

/**
 * Reads storage at most once per `maxAgeMs` (scrapes and readiness probes must not each cost
 * six JetStream API calls), and answers null while NATS cannot be asked: the metric is then
 * absent, never an error.
 */
export function createStorageMonitor(bus: Bus, maxAgeMs = 10_000) {
  let last: { at: number; storage: JetStreamStorage } | null = null;
  let pending: Promise<JetStreamStorage | null> | null = null;
  return {
    async read(): Promise<JetStreamStorage | null> {
      if (last && Date.now() - last.at < maxAgeMs) return last.storage;
      pending ??= readJetStreamStorage(bus)
        .then((storage) => {
          last = { at: Date.now(), storage };
          return storage;
        })
        .catch(() => null)
        .finally(() => {
          pending = null;
        });
      return pending;
    },
  };
}
export type StorageMonitor = ReturnType<typeof createStorageMonitor>;
