export { instrumentBus } from "./bus-metrics.ts";
export {
  Counter,
  createProgramRegistry,
  exposedSeriesNames,
  Gauge,
  Histogram,
  METRIC_PREFIX,
  Registry,
  sharedMetric,
} from "./metrics-registry.ts";
export { type MetricsServer, serveMetricsIfConfigured, startMetricsServer } from "./metrics-server.ts";
export { outboxGaugeNames, outboxStatusGauges } from "./outbox-gauges.ts";
export {
  type GaugeReading,
  READING_DEADLINE_MS,
  type ReadingGaugeOptions,
  readingGauge,
  sharedReading,
  sharedValueGauges,
  valueGauge,
} from "./reading-gauge.ts";
