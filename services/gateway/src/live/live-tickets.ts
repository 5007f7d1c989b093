import { digestToken, generateToken } from "@kasmap/contracts";

/** Prefix of a live-stream ticket: recognisable in a leak report, as `glpat-` is. */
export const LIVE_TICKET_PREFIX = "kmlive-";

/**
 * The credential headers a ticket stands for, replayed when its stream is opened and each time
 * the stream re-checks the credential (`private-token` or `authorization`, as the caller sent them).
 */
export type TicketCredential = Readonly<Record<string, string>>;

type HeldTicket = { userId: number; credential: TicketCredential; expiresAtMs: number };

/** What a used ticket stands for: its user and the credential headers it was issued for. */
export type RedeemedTicket = { userId: number; credential: TicketCredential };

export type LiveTicketLimits = {
  /** How long a ticket may wait to be used, ms. */
  ttlMs: number;
  /** Unused tickets one user may hold; the oldest is forgotten beyond it. */
  perUser: number;
  /** Unused tickets the process holds in all; beyond it issuing answers null (the route: 429). */
  total: number;
};

/**
 * Single-use tickets that open one live event stream as the user who asked for one: a browser's
 * `EventSource` cannot send a `PRIVATE-TOKEN` header, and a long-lived token must not sit in a
 * URL (proxies and browsers log URLs). Only the ticket's SHA-256 digest is a key here; the
 * credential it stands for stays in this process's memory until the ticket is used or expires.
 *
 * Held by the gateway process that issued it, which alone can redeem it: behind several replicas,
 * a replica that does not hold a ticket asks the others (`peer-tickets.ts`), so no session
 * affinity is needed and a ticket still works exactly once.
 */
export class LiveTickets {
  private readonly held = new Map<string, HeldTicket>();

  constructor(
    private readonly limits: LiveTicketLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new ticket for `userId`'s `credential`, or null when the process holds `total` already. */
  issue(userId: number, credential: TicketCredential): { ticket: string; expiresAt: Date } | null {
    this.forgetExpired();
    const mine = [...this.held].filter(([, held]) => held.userId === userId);
    // Map order is insertion order: the first of the user's tickets is their oldest.
    if (mine.length >= this.limits.perUser && mine[0]) this.held.delete(mine[0][0]);
    if (this.held.size >= this.limits.total) return null;
    const ticket = generateToken(LIVE_TICKET_PREFIX);
    const expiresAtMs = this.now() + this.limits.ttlMs;
    this.held.set(digestToken(ticket), { userId, credential, expiresAtMs });
    return { ticket, expiresAt: new Date(expiresAtMs) };
  }

  /** The ticket's user and credential, once: a used, unknown or expired ticket answers null. */
  redeem(ticket: string): RedeemedTicket | null {
    return this.redeemDigest(digestToken(ticket));
  }

  /** As `redeem`, by the ticket's SHA-256 digest (what a peer replica asks with). */
  redeemDigest(key: string): RedeemedTicket | null {
    const held = this.held.get(key);
    if (!held) return null;
    this.held.delete(key);
    if (held.expiresAtMs <= this.now()) return null;
    return { userId: held.userId, credential: held.credential };
  }

  /** Unused, unexpired tickets held (for tests and metrics). */
  get size(): number {
    this.forgetExpired();
    return this.held.size;
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [key, held] of this.held) if (held.expiresAtMs <= now) this.held.delete(key);
  }
}
