/** One parsed Server-Sent Events frame; `data` is the JSON the gateway sent. */
export type SseFrame = { event: string; id: string; data: unknown };

export type SseConnection = {
  /** Resolves with the next frame matching `wanted`, skipping others; rejects after `timeoutMs`. */
  next(wanted: (frame: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame>;
  /** Every frame received so far, in order. */
  readonly received: SseFrame[];
  close(): void;
};

/**
 * Opens `url` as an EventSource would (with `Last-Event-ID` on resume) and parses frames as they
 * arrive. Resolves once the response headers are in: the gateway sends them only after its
 * consumers are subscribed, so whatever is published afterwards is delivered.
 */
export async function openSse(url: string, token: string, lastEventId?: string): Promise<SseConnection> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: {
      "PRIVATE-TOKEN": token,
      accept: "text/event-stream",
      ...(lastEventId ? { "last-event-id": lastEventId } : {}),
    },
    signal: abort.signal,
  });
  if (response.status !== 200 || !response.body) throw new Error(`SSE ${url}: ${response.status}`);
  const received: SseFrame[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame) received.push(frame);
        end = buffer.indexOf("\n\n");
      }
      for (const wake of waiters) wake();
    }
  })().catch(() => {});
  let cursor = 0;
  return {
    received,
    async next(wanted, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (cursor < received.length) {
          const frame = received[cursor++];
          if (frame && wanted(frame)) return frame;
        }
        if (Date.now() > deadline) throw new Error("no matching SSE frame");
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
    },
    close: () => abort.abort(),
  };
}

function parseFrame(text: string): SseFrame | null {
  const fields = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 2)]);
  }
  const data = fields.get("data");
  if (!data) return null;
  return {
    event: fields.get("event")?.[0] ?? "message",
    id: fields.get("id")?.[0] ?? "",
    data: JSON.parse(data.join("\n")),
  };
}
