import { Counter, Histogram, Registry } from "@kasmap/runtime/metrics";

const BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A tally hands its answers to prom-client once it holds this many (and at every scrape). */
const TALLY_FLUSH_AT = 1_024;

/**
 * The answers of one (method, route, status), counted on the request's path in plain numbers and
 * handed to prom-client in batches (`GatewayMetrics.tally`). prom-client hashes the label values
 * of every observation (a new string, interned, per call): ~5 % of the CPU of the gateway's hot
 * read at 10,000 requests a second. Here an answer costs a few additions; the batch is added
 * with one `inc` and, per histogram bucket, observations of the mean of that bucket's durations —
 * which lies in the same bucket, so every bucket count and the count are exactly what observing
 * each answer would have given, and the sum is too but for float rounding. A scrape sees every
 * answer counted before it.
 */
export class AnswerTally {
  private pending = 0;
  /** Per bucket of `BUCKETS_SECONDS` and one for +Inf: answers and the sum of their durations. */
  private readonly counts = new Float64Array(BUCKETS_SECONDS.length + 1);
  private readonly sums = new Float64Array(BUCKETS_SECONDS.length + 1);

  constructor(private readonly flushTo: (count: number, counts: Float64Array, sums: Float64Array) => void) {}

  /** Counts one answer that took `durationMs`. */
  add(durationMs: number): void {
    const seconds = durationMs / 1000;
    let bucket = 0;
    while (bucket < BUCKETS_SECONDS.length && seconds > (BUCKETS_SECONDS[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sums[bucket] = (this.sums[bucket] as number) + seconds;
    if (++this.pending >= TALLY_FLUSH_AT) this.flush();
  }

  /** Hands the answers counted since the last flush to prom-client. */
  flush(): void {
    if (this.pending === 0) return;
    this.flushTo(this.pending, this.counts, this.sums);
    this.pending = 0;
    this.counts.fill(0);
    this.sums.fill(0);
  }
}

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
  private readonly tallies: AnswerTally[] = [];
  /** Accepted credentials counted since the last scrape (`authenticated`). */
  private authenticatedPending = 0;

  constructor(readonly registry: Registry = new Registry()) {
    const flushTallies = () => {
      for (const tally of this.tallies) tally.flush();
    };
    this.requests = new Counter({
      name: "kasmap_gateway_http_requests_total",
      help: "HTTP requests answered, by method, route and status.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
      collect: flushTallies,
    });
    this.durations = new Histogram({
      name: "kasmap_gateway_http_request_duration_seconds",
      help: "Time to answer an HTTP request.",
      labelNames: ["method", "route"],
      buckets: BUCKETS_SECONDS,
      registers: [registry],
      collect: flushTallies,
    });
    this.authenticatedRequests = new Counter({
      name: "kasmap_gateway_authenticated_requests_total",
      help: "Requests whose credential was accepted.",
      registers: [registry],
      collect: () => {
        if (this.authenticatedPending === 0) return;
        this.authenticatedRequests.inc(this.authenticatedPending);
        this.authenticatedPending = 0;
      },
    });
  }

  /** Records one request whose credential was accepted (added to the counter at each scrape). */
  authenticated(): void {
    this.authenticatedPending += 1;
  }

  /**
   * A tally for the answers of (`method`, `route`, `status`): as `observe` for each, counted in
   * plain numbers and handed to the same metrics in batches (`AnswerTally`), for a route that
   * answers too often for prom-client's per-observation cost.
   */
  tally(method: string, route: string, status: number): AnswerTally {
    const labels = { method, route, status: String(status) };
    const durationLabels = { method, route };
    const tally = new AnswerTally((count, counts, sums) => {
      this.requests.inc(labels, count);
      for (let bucket = 0; bucket < counts.length; bucket++) {
        const answers = counts[bucket] as number;
        if (answers === 0) continue;
        // The mean of durations within (previous bound, bound] lies within them too (the bound
        // caps float rounding), so it lands in the same bucket.
        const bound = BUCKETS_SECONDS[bucket] ?? Number.POSITIVE_INFINITY;
        const mean = Math.min((sums[bucket] as number) / answers, bound);
        for (let i = 0; i < answers; i++) this.durations.observe(durationLabels, mean);
      }
    });
    this.tallies.push(tally);
    return tally;
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
