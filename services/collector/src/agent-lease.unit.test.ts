import { KasmapError } from "@kasmap/contracts";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AgentAuthentication, acquireAgentLease, renewalDelayMs } from "./agent-lease.ts";

/**
 * The collector's re-authentication lease (issue 9): renewed halfway through what is left, a
 * refusal ends it for good, any other failure pauses publishing only once the lease ran out.
 * Time is vitest's fake clock, so nothing here waits.
 */
function answer(leaseMs: number, agentId = 7): AgentAuthentication {
  return {
    agent_id: agentId,
    token_id: 1,
    project_id: 2,
    token_kind: "agent",
    lease_expires_at: new Date(Date.now() + leaseMs).toISOString(),
  };
}

function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: "debug" }, { write: (line: string) => void lines.push(line) }) };
}

beforeEach(() => vi.useFakeTimers({ now: new Date("2026-12-01T20:00:00Z") }));
afterEach(() => vi.useRealTimers());

describe("renewalDelayMs", () => {
  it.each([
    { case: "no lease (an authz from before leases)", expiresAt: null, failed: false, delay: null },
    { case: "halfway through what is left", expiresAt: 60_000, failed: false, delay: 30_000 },
    { case: "never sooner than 500 ms", expiresAt: 400, failed: false, delay: 500 },
    { case: "after a failure: a quarter of what is left", expiresAt: 8_000, failed: true, delay: 2_000 },
    { case: "after a failure: at most 5 s", expiresAt: 60_000, failed: true, delay: 5_000 },
    { case: "after a failure with the lease run out: 500 ms", expiresAt: -1_000, failed: true, delay: 500 },
  ])("$case", ({ expiresAt, failed, delay }) => {
    expect(renewalDelayMs(expiresAt, 0, failed)).toBe(delay);
  });
});

describe("acquireAgentLease", () => {
  it("renews before the lease runs out, staying current while authz answers", async () => {
    const authenticate = vi.fn(async () => answer(4_000));
    const lease = await acquireAgentLease({ authenticate, logger: capturingLogger().logger });
    expect(lease.agentId).toBe(7);
    for (let step = 0; step < 10; step++) {
      await vi.advanceTimersByTimeAsync(1_000);
      expect(lease.current).toBe(true);
    }
    expect(authenticate.mock.calls.length).toBeGreaterThanOrEqual(5);
    lease.stop();
  });

  it("a refused renewal ends the lease for good, saying why", async () => {
    const { lines, logger } = capturingLogger();
    let revoked = false;
    const authenticate = vi.fn(async () => {
      if (revoked) throw new KasmapError("unauthorized", "401 Unauthorized");
      return answer(4_000);
    });
    const lease = await acquireAgentLease({ authenticate, logger });
    revoked = true;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(lease.current).toBe(false);
    await expect(lease.refused).resolves.toMatchObject({ code: "unauthorized" });
    const calls = authenticate.mock.calls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(authenticate.mock.calls.length).toBe(calls);
    expect(lines.join("\n")).toContain("agent token refused at lease renewal");
  });

  it("a token that now names another agent is refused", async () => {
    let agentId = 7;
    const lease = await acquireAgentLease({
      authenticate: async () => answer(4_000, agentId),
      logger: capturingLogger().logger,
    });
    agentId = 8;
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(lease.refused).resolves.toMatchObject({ message: "the token now belongs to agent 8" });
    expect(lease.current).toBe(false);
  });

  it("authz unavailable: current until the lease runs out, paused after, current again with the next answer", async () => {
    const { lines, logger } = capturingLogger();
    let available = true;
    const authenticate = vi.fn(async () => {
      if (!available)
        throw new KasmapError("unavailable", "authz service did not answer agent_token.authenticate");
      return answer(4_000);
    });
    const lease = await acquireAgentLease({ authenticate, logger });
    available = false;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(lease.current).toBe(true);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(lease.current).toBe(false);
    expect(lines.join("\n")).toContain("agent token lease ran out: publishing paused");
    available = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lease.current).toBe(true);
    lease.stop();
  });

  it("without lease_expires_at (an authz from before leases) stays current and never asks again", async () => {
    const { lease_expires_at: _none, ...unleased } = answer(0);
    const authenticate = vi.fn(async () => unleased);
    const lease = await acquireAgentLease({ authenticate, logger: capturingLogger().logger });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(lease.current).toBe(true);
    expect(authenticate).toHaveBeenCalledTimes(1);
  });

  it("a refusal at the first authentication throws, as at any start", async () => {
    await expect(
      acquireAgentLease({
        authenticate: async () => {
          throw new KasmapError("unauthorized", "401 Unauthorized");
        },
        logger: capturingLogger().logger,
      }),
    ).rejects.toMatchObject({ code: "unauthorized" });
  });
});
