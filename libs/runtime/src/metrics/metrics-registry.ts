import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

/** Every Kasmap metric name starts with it, prom-client's process metrics too. */
export const METRIC_PREFIX = "kasmap_";

/**
 * The registry of one program (a service's `main.ts`, `npm start`, the collector): prom-client's
 * process and Node.js metrics (`kasmap_process_cpu_seconds_total`,
 * `kasmap_process_resident_memory_bytes`, `kasmap_nodejs_eventloop_lag_p99_seconds`, …),
 * collected at scrape time. Services started without one (tests, benches) register their own
 * metrics on a bare `new Registry()`: the process metrics belong to the program, once.
 */
export function createProgramRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/**
 * The metric `name` of `registry`, made by `create` when it is not registered yet. For the
 * metrics every service has (NATS connection, dead letters): under `npm start` the services
 * share one registry, and each adds its own `service` label to the one metric.
 */
export function sharedMetric<M extends Counter<string> | Gauge<string>>(
  registry: Registry,
  name: string,
  create: () => M,
): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

/**
 * Every series name `registry` exposes, as PromQL names them: a histogram `x` is `x_bucket`,
 * `x_sum` and `x_count`; a summary `x`, `x_sum` and `x_count`. For checking that dashboards and
 * alert rules name only metrics that exist.
 */
export function exposedSeriesNames(registry: Registry): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const type = String(metric.type);
    if (type === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
    else if (type === "summary") for (const suffix of ["", "_sum", "_count"]) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}
