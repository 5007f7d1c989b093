/** The bounds of one lane of command serving (`serveCommands`). */
export type CommandLaneLimits = {
  /** Handlers of the lane running at once (each may hold one of the service's pooled connections). */
  maxInFlight: number;
  /** Requests received and not yet started; one more is answered `unavailable` at once. */
  maxWaiting: number;
  /** Bytes of the waiting requests' bodies, so waiting memory is bounded whatever they carry. */
  maxWaitingBytes: number;
  /**
   * Requests of one named sender waiting at once (no bound when absent; requests that name no
   * sender are bounded by the lane's limits alone). With it a sender that floods fills its own
   * share of the queue, not the lane's; the others' requests still find room.
   */
  maxWaitingPerSender?: number;
};

/**
 * A lane's state now (`rejected` counts since `serveCommands` started: the requests refused and
 * the ones pushed out).
 */
export type CommandLaneStatus = {
  inFlight: number;
  waiting: number;
  waitingBytes: number;
  /** Senders with at least one request waiting. */
  waitingSenders: number;
  rejected: number;
};

/** Why `offer` did not take a request: the lane's queue is full, or the sender's share of it. */
export type CommandLaneRefusal = "lane_full" | "sender_full";

type Waiting<T> = { item: T; bytes: number };

/**
 * A bounded queue of requests with at most `maxInFlight` of them in `serve` at once: the
 * semaphore and the queue of one lane. Requests wait per sender and the senders are served in
 * turn (round robin: the next request started is the oldest of the sender after the last one
 * served), so a sender with many requests waiting delays each other sender by at most one of
 * its own; with one sender it is a FIFO. `offer` starts the request, queues it, or answers why it
 * did not (the sender's count, or the lane's count or bytes); the lane never holds more than its
 * limits. When the lane is full, a request pushes out the newest request of the sender holding
 * the most (`pushOut` gets it, to answer it) if that sender holds more than the newcomer's sender
 * would with it; if none does, it is refused (`lane_full`). So a sender with nothing waiting is
 * kept out only by `maxWaiting` senders holding one request each (by bytes, by fewer senders
 * holding one large request each); a flood from fewer senders, each holding more, cannot keep it
 * out. `takeWaiting` empties the queue (when serving stops, so the caller can answer each queued
 * request).
 */
export function createCommandLane<T>(
  limits: CommandLaneLimits,
  serve: (item: T) => Promise<void>,
  pushOut: (item: T) => void = () => {},
) {
  /** Each sender's waiting requests, oldest first; a sender is here only while it has some. */
  const bySender = new Map<string, Waiting<T>[]>();
  /** The senders with requests waiting, in the order they are served next. */
  const turn: string[] = [];
  let waiting = 0;
  let inFlight = 0;
  let waitingBytes = 0;
  let rejected = 0;

  function start(item: T): void {
    inFlight++;
    // `serve` answers its own failures; the lane only needs to know when it is done.
    void serve(item)
      .catch(() => {})
      .finally(() => {
        inFlight--;
        const next = takeNext();
        if (next) start(next);
      });
  }

  function takeNext(): T | undefined {
    const sender = turn.shift();
    if (sender === undefined) return undefined;
    const queue = bySender.get(sender) as Waiting<T>[];
    const next = queue.shift() as Waiting<T>;
    if (queue.length > 0) turn.push(sender);
    else bySender.delete(sender);
    waiting--;
    waitingBytes -= next.bytes;
    return next.item;
  }

  /**
   * The senders whose newest requests must go, in order, so that one more request of `sender`
   * (`bytes`) fits: each time the newest of the sender holding the most, while it holds more than
   * `sender` would with its request; undefined when that cannot make room. Reads only.
   */
  function pushOutPlan(sender: string, bytes: number): string[] | undefined {
    const own = (bySender.get(sender)?.length ?? 0) + 1;
    const left = new Map<string, number>();
    for (const [other, queue] of bySender) if (other !== sender) left.set(other, queue.length);
    let count = waiting + 1;
    let total = waitingBytes + bytes;
    const plan: string[] = [];
    while (count > limits.maxWaiting || total > limits.maxWaitingBytes) {
      let longest: string | undefined;
      let most = own;
      for (const [other, length] of left) {
        if (length > most) [longest, most] = [other, length];
      }
      if (longest === undefined) return undefined;
      const queue = bySender.get(longest) as Waiting<T>[];
      left.set(longest, most - 1);
      plan.push(longest);
      count--;
      total -= (queue[most - 1] as Waiting<T>).bytes;
    }
    return plan;
  }

  /**
   * Takes the newest waiting request of each sender of `plan` (one per entry) and hands it to
   * `pushOut`. Each keeps its turn: a sender pushed out still holds at least as many as the
   * newcomer's sender will, so at least one.
   */
  function pushOutNewest(plan: readonly string[]): void {
    for (const sender of plan) {
      const newest = (bySender.get(sender) as Waiting<T>[]).pop() as Waiting<T>;
      waiting--;
      waitingBytes -= newest.bytes;
      rejected++;
      pushOut(newest.item);
    }
  }

  return {
    /** `sender`: who sent the request; `""` (none named) is one sender, bounded by the lane alone. */
    offer(item: T, bytes: number, sender = ""): CommandLaneRefusal | null {
      if (inFlight < limits.maxInFlight && waiting === 0) {
        start(item);
        return null;
      }
      const queue = bySender.get(sender);
      const senderLimit = sender === "" ? Number.POSITIVE_INFINITY : limits.maxWaitingPerSender;
      if ((queue?.length ?? 0) >= (senderLimit ?? Number.POSITIVE_INFINITY)) {
        rejected++;
        return "sender_full";
      }
      if (waiting >= limits.maxWaiting || waitingBytes + bytes > limits.maxWaitingBytes) {
        const plan = pushOutPlan(sender, bytes);
        if (plan === undefined) {
          rejected++;
          return "lane_full";
        }
        pushOutNewest(plan);
      }
      if (queue) queue.push({ item, bytes });
      else {
        bySender.set(sender, [{ item, bytes }]);
        turn.push(sender);
      }
      waiting++;
      waitingBytes += bytes;
      return null;
    },
    takeWaiting(): T[] {
      const items: T[] = [];
      for (let next = takeNext(); next !== undefined; next = takeNext()) items.push(next);
      return items;
    },
    status(): CommandLaneStatus {
      return { inFlight, waiting, waitingBytes, waitingSenders: bySender.size, rejected };
    },
  };
}
