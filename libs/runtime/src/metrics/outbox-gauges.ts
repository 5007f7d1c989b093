import type { Registry } from "prom-client";
import type { OutboxStatus } from "../transactional-outbox.ts";
import { sharedValueGauges } from "./reading-gauge.ts";

/** The names of a transactional outbox's gauges under `prefix` (e.g. `kasmap_authz_outbox`). */
export function outboxGaugeNames(prefix: string) {
  return {
    pending: `${prefix}_pending_rows`,
    setAside: `${prefix}_set_aside_rows`,
    oldestPendingAge: `${prefix}_oldest_pending_age_seconds`,
  } as const;
}

/**
 * The gauges of a transactional outbox, from one `read` per scrape: `<prefix>_pending_rows`,
 * `<prefix>_set_aside_rows` and, with `oldestPendingAge`, `<prefix>_oldest_pending_age_seconds`
 * (0 when nothing is pending). `rows` names what the outbox holds, `owner` who logs a row set
 * aside; both only word the help texts.
 */
export function outboxStatusGauges(
  registry: Registry,
  read: () => Promise<OutboxStatus>,
  options: { prefix: string; rows: string; owner: string; oldestPendingAge?: boolean },
): void {
  const names = outboxGaugeNames(options.prefix);
  const { rows, owner } = options;
  sharedValueGauges(registry, read, [
    {
      name: names.pending,
      help: `${rows} committed but not yet published to NATS.`,
      pick: (outbox) => outbox.pending,
    },
    {
      name: names.setAside,
      help: `${rows} that can never be published, set aside (${owner} logs each); above 0 needs an operator.`,
      pick: (outbox) => outbox.set_aside,
    },
    ...(options.oldestPendingAge
      ? [
          {
            name: names.oldestPendingAge,
            help: `Age of the oldest of the ${rows.toLowerCase()} not yet published, seconds; 0 when none is pending.`,
            pick: (outbox: OutboxStatus) => outbox.oldest_pending_age_seconds ?? 0,
          },
        ]
      : []),
  ]);
}
