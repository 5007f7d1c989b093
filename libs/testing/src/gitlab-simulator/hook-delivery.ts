/**
 * POSTs hooks the way GitLab does (fire and forget from the mutator's point of view), but keeps
 * every delivery so tests can `flush()` and then assert, deterministically.
 */

export interface HookDelivery {
  destination: "system_hook" | "webhook" | "audit_stream";
  url: string;
  event: string;
  status: number | null;
  error: string | null;
}

export class HookDeliverer {
  readonly deliveries: HookDelivery[] = [];
  private readonly pending = new Set<Promise<void>>();

  send(
    destination: HookDelivery["destination"],
    url: string,
    event: string,
    headers: Record<string, string>,
    body: unknown,
  ): void {
    const delivery: HookDelivery = { destination, url, event, status: null, error: null };
    this.deliveries.push(delivery);
    const attempt = fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "GitLab/17.0.0", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (response) => {
        delivery.status = response.status;
        await response.arrayBuffer();
      })
      .catch((error: unknown) => {
        delivery.error =
          error instanceof Error
            ? error.cause instanceof Error
              ? error.cause.message
              : error.message
            : String(error);
      })
      .finally(() => this.pending.delete(attempt));
    this.pending.add(attempt);
  }

  /** Waits until every delivery started so far (and any they started) has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
