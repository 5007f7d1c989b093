import { Counter, Gauge, type Registry } from "prom-client";
import { sharedMetric } from "./metrics-registry.ts";

/** One sample of a reading: its labels (none for an unlabelled gauge) and its value. */
export type GaugeReading<L extends string> = { labels?: Record<L, string>; value: number };

/** How long one reading may take at scrape time, ms: a slow database must not hang the scrape. */
export const READING_DEADLINE_MS = 2_000;

export type ReadingGaugeOptions<L extends string> = {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Reads the current samples (a query, a JetStream call): run at each scrape. */
  read(): Promise<GaugeReading<L>[]> | GaugeReading<L>[];
};

/**
 * A gauge read from elsewhere at scrape time (a table count, a stream's last sequence). A
 * reading of no samples leaves the gauge out of the scrape (an unlabelled prom-client gauge
 * would otherwise say 0, which reads as "all well"); so does a gauge never read successfully.
 * A reading that fails or takes longer than `READING_DEADLINE_MS` keeps the previous samples and
 * counts `kasmap_metric_reading_failures_total{metric}` (shown from the next scrape: the counter
 * is rendered before the gauges are read), so a scrape never fails or hangs for it and a stale
 * value is visible as such.
 */
export function readingGauge<L extends string>(
  registry: Registry,
  options: ReadingGaugeOptions<L>,
): Gauge<L> {
  const failures = sharedMetric(
    registry,
    "kasmap_metric_reading_failures_total",
    () =>
      new Counter({
        name: "kasmap_metric_reading_failures_total",
        help: "Scrape-time readings (database counts, stream positions) that failed or timed out; the gauge kept its previous value.",
        labelNames: ["metric"],
        registers: [registry],
      }),
  );
  let present = false;
  const gauge = new Gauge<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labelNames ?? [],
    registers: [registry],
    async collect() {
      let readings: GaugeReading<L>[];
      try {
        readings = await withDeadline(Promise.resolve(options.read()), READING_DEADLINE_MS);
      } catch {
        failures.inc({ metric: options.name });
        return;
      }
      this.reset();
      present = readings.length > 0;
      for (const reading of readings) {
        if (reading.labels) this.set(reading.labels, reading.value);
        else this.set(reading.value);
      }
    },
  });
  const collected = gauge.get.bind(gauge);
  gauge.get = async () => {
    const metric = await collected();
    return present ? metric : { ...metric, values: [] };
  };
  return gauge;
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`reading took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `read`, run at most once per `maxAgeMs` (ms): several gauges of one scrape (pending and
 * set-aside rows of one outbox) then cost one query, not one each.
 */
export function sharedReading<T>(read: () => Promise<T>, maxAgeMs = 1_000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (last && Date.now() - last.at < maxAgeMs) return last.value;
    const value = read();
    last = { at: Date.now(), value };
    // A failed reading is not kept: the next scrape asks again.
    value.catch(() => {
      if (last?.value === value) last = null;
    });
    return value;
  };
}

/**
 * A `readingGauge` of one unlabelled value: `read` answers the value, or null for none (the
 * gauge is then absent from the scrape).
 */
export function valueGauge(
  registry: Registry,
  options: { name: string; help: string; read(): Promise<number | null> | number | null },
): Gauge {
  return readingGauge(registry, {
    name: options.name,
    help: options.help,
    read: async () => {
      const value = await options.read();
      return value === null ? [] : [{ value }];
    },
  });
}

/**
 * Unlabelled gauges that each pick one value of one reading (`read`, run at most once per scrape
 * through `sharedReading`): an outbox's pending and set-aside rows cost one query, not one each.
 */
export function sharedValueGauges<T>(
  registry: Registry,
  read: () => Promise<T>,
  gauges: ReadonlyArray<{ name: string; help: string; pick(reading: T): number | null }>,
): void {
  const shared = sharedReading(read);
  for (const { name, help, pick } of gauges) {
    valueGauge(registry, { name, help, read: async () => pick(await shared()) });
  }
}
