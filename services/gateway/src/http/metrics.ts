import { Counter, Histogram, Registry } from "@kasmap/runtime/metrics";

const BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The gateway's request metrics, on prom-client: `kasmap_gateway_http_requests_total{method,
 * route,status}` and `kasmap_gateway_http_request_duration_seconds` (a histogram per method and
 * route). `route` is the route pattern (`/api/v4/projects/:id`), never the raw URL, so label
 * cardinality stays bounded. `kasmap_gateway_authenticated_requests_total` counts requests whose
 * credential was accepted (so a route handler ran past authentication): the fuzz test uses it to
 * show that most of its requests got past the 401 path. `registry` holds every other metric of
 * the process too (`GET /metrics` serves all of it).
 */
export class GatewayMetrics {
  private readonly requests: Counter<"method" | "route" | "status">;
  private readonly durations: Histogram<"method" | "route">;
  private readonly authenticatedRequests: Counter;

  constructor(readonly registry: Registry = new Registry()) {
    this.requests = new Counter({
      name: "kasmap_gateway_http_requests_total",
      help: "HTTP requests answered, by method, route and status.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
    this.durations = new Histogram({
      name: "kasmap_gateway_http_request_duration_seconds",
      help: "Time to answer an HTTP request.",
      labelNames: ["method", "route"],
      buckets: BUCKETS_SECONDS,
      registers: [registry],
    });
    this.authenticatedRequests = new Counter({
      name: "kasmap_gateway_authenticated_requests_total",
      help: "Requests whose credential was accepted.",
      registers: [registry],
    });
  }

  /** Records one request whose credential was accepted. */
  authenticated(): void {
    this.authenticatedRequests.inc();
  }

  /** Records one answered request; `durationMs` from Fastify's `reply.elapsedTime`. */
  observe(method: string, route: string, status: number, durationMs: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.durations.observe({ method, route }, durationMs / 1000);
  }

  /** Every metric of the registry in Prometheus' text format (version 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
