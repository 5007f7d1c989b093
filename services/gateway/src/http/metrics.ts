/**
 * Request metrics in Prometheus' text format (version 0.0.4), kept by hand because they are
 * small: `kasmap_gateway_http_requests_total{method,route,status}` and
 * `kasmap_gateway_http_request_duration_seconds` (a histogram per method and route).
 * `route` is the route pattern (`/api/v4/projects/:id`), never the raw URL, so label
 * cardinality stays bounded. `kasmap_gateway_authenticated_requests_total` counts requests whose
 * credential was accepted (so a route handler ran past authentication): the fuzz test uses it to
 * show that most of its requests got past the 401 path.
 */
const BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Histogram = { buckets: number[]; sum: number; count: number };

export class GatewayMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  /**
   * Rendered label sets per method, route and status: escaping them anew on every request
   * showed in the hot read's profile. Bounded, since routes are patterns, not raw URLs.
   */
  private readonly labelSets = new Map<string, { counterKey: string; histogramKey: string }>();
  private authenticatedRequests = 0;

  /** Records one request whose credential was accepted. */
  authenticated(): void {
    this.authenticatedRequests += 1;
  }

  /** Records one answered request; `durationMs` from Fastify's `reply.elapsedTime`. */
  observe(method: string, route: string, status: number, durationMs: number): void {
    const { counterKey, histogramKey } = this.labelsOf(method, route, status);
    this.requests.set(counterKey, (this.requests.get(counterKey) ?? 0) + 1);
    let histogram = this.durations.get(histogramKey);
    if (!histogram) {
      histogram = { buckets: BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(histogramKey, histogram);
    }
    const seconds = durationMs / 1000;
    BUCKETS_SECONDS.forEach((bound, i) => {
      if (seconds <= bound) histogram.buckets[i] = (histogram.buckets[i] ?? 0) + 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
  }

  private labelsOf(method: string, route: string, status: number) {
    const key = `${method} ${status} ${route}`;
    let set = this.labelSets.get(key);
    if (!set) {
      set = {
        counterKey: labels({ method, route, status: String(status) }),
        histogramKey: labels({ method, route }),
      };
      this.labelSets.set(key, set);
    }
    return set;
  }

  render(): string {
    const lines = [
      "# HELP kasmap_gateway_http_requests_total HTTP requests answered, by method, route and status.",
      "# TYPE kasmap_gateway_http_requests_total counter",
    ];
    for (const [key, value] of this.requests)
      lines.push(`kasmap_gateway_http_requests_total{${key}} ${value}`);
    lines.push(
      "# HELP kasmap_gateway_http_request_duration_seconds Time to answer an HTTP request.",
      "# TYPE kasmap_gateway_http_request_duration_seconds histogram",
    );
    const name = "kasmap_gateway_http_request_duration_seconds";
    for (const [key, histogram] of this.durations) {
      BUCKETS_SECONDS.forEach((bound, i) => {
        lines.push(`${name}_bucket{${key},le="${bound}"} ${histogram.buckets[i] ?? 0}`);
      });
      lines.push(`${name}_bucket{${key},le="+Inf"} ${histogram.count}`);
      lines.push(`${name}_sum{${key}} ${histogram.sum}`);
      lines.push(`${name}_count{${key}} ${histogram.count}`);
    }
    lines.push(
      "# HELP kasmap_gateway_authenticated_requests_total Requests whose credential was accepted.",
      "# TYPE kasmap_gateway_authenticated_requests_total counter",
      `kasmap_gateway_authenticated_requests_total ${this.authenticatedRequests}`,
    );
    return `${lines.join("\n")}\n`;
  }
}

function labels(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}
