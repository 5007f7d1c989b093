import { describe, expect, it } from "vitest";
import { LIVE_TICKET_PREFIX, LiveTickets } from "./live-tickets.ts";

const credential = { "private-token": "glpat-developer" };

function ticketsAt(limits: { perUser?: number; total?: number } = {}) {
  const clock = { now: 1_000_000 };
  const tickets = new LiveTickets(
    { ttlMs: 60_000, perUser: limits.perUser ?? 10, total: limits.total ?? 100 },
    () => clock.now,
  );
  return { tickets, clock };
}

describe("LiveTickets", () => {
  it("issues a random prefixed ticket that works once, for its user and credential", () => {
    const { tickets } = ticketsAt();
    const issued = tickets.issue(2, credential);
    expect(issued?.ticket).toMatch(new RegExp(`^${LIVE_TICKET_PREFIX}[A-Za-z0-9_-]{43}$`));
    expect(issued?.expiresAt.getTime()).toBe(1_000_000 + 60_000);
    expect(tickets.issue(2, credential)?.ticket).not.toBe(issued?.ticket);
    expect(tickets.redeem(String(issued?.ticket))).toEqual({ userId: 2, credential });
    expect(tickets.redeem(String(issued?.ticket))).toBeNull();
    expect(tickets.redeem("kmlive-never-issued")).toBeNull();
  });

  it("forgets a ticket at its expiry", () => {
    const { tickets, clock } = ticketsAt();
    const issued = tickets.issue(2, credential);
    clock.now += 59_999;
    expect(tickets.size).toBe(1);
    clock.now += 1;
    expect(tickets.redeem(String(issued?.ticket))).toBeNull();
    expect(tickets.size).toBe(0);
  });

  it("keeps a user's newest tickets within the per-user limit and refuses beyond the process total", () => {
    const { tickets } = ticketsAt({ perUser: 2, total: 3 });
    const first = tickets.issue(2, credential);
    const second = tickets.issue(2, credential);
    const third = tickets.issue(2, credential);
    expect(tickets.redeem(String(first?.ticket))).toBeNull();
    expect(tickets.size).toBe(2);
    expect(tickets.issue(3, credential)).not.toBeNull();
    expect(tickets.issue(4, credential)).toBeNull();
    expect(tickets.redeem(String(second?.ticket))?.userId).toBe(2);
    expect(tickets.redeem(String(third?.ticket))?.userId).toBe(2);
  });
});
