import type { Logger } from "@kasmap/logging";

/** Senders named in one log line, so a flood from many identities cannot make the line large. */
const SENDERS_PER_LINE = 10;

/**
 * Says in the log which collectors ask authz to authenticate out of turn (their requests past
 * their share of the collectors' lane, `sender_full`): the first such refusal at once, then at
 * most one line per `intervalMs`, at the next refusal after it, naming the senders seen since the
 * last line (their NATS user public keys, which the rendered permissions map to agents; at most
 * {@link SENDERS_PER_LINE}) and how many requests were refused. The metric
 * `kasmap_authz_commands_shed_total{reason="sender_full"}` counts them all; the log says who.
 */
export function floodReport(logger: Logger, intervalMs = 60_000, now: () => number = Date.now) {
  let lastLine = Number.NEGATIVE_INFINITY;
  let refused = 0;
  const senders = new Set<string>();
  return {
    note(sender: string): void {
      refused++;
      if (senders.size < SENDERS_PER_LINE) senders.add(sender);
      const time = now();
      if (time - lastLine < intervalMs) return;
      logger.warn(
        { senders: [...senders], refused },
        "collectors asked authz to authenticate out of turn; their excess was answered unavailable",
      );
      lastLine = time;
      refused = 0;
      senders.clear();
    },
  };
}
