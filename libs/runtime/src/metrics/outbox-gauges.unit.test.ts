import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { outboxStatusGauges } from "./outbox-gauges.ts";

describe("outboxStatusGauges", () => {
  it("renders pending and set-aside rows, and the oldest pending age (0 when none) when asked", async () => {
    const registry = new Registry();
    let reads = 0;
    const read = async () => {
      reads++;
      return { pending: 0, set_aside: 2, oldest_pending_age_seconds: null };
    };
    outboxStatusGauges(registry, read, {
      prefix: "kasmap_a",
      rows: "Events",
      owner: "a",
      oldestPendingAge: true,
    });
    const text = await registry.metrics();
    expect(text).toMatch(/^kasmap_a_pending_rows 0$/m);
    expect(text).toMatch(/^kasmap_a_set_aside_rows 2$/m);
    expect(text).toMatch(/^kasmap_a_oldest_pending_age_seconds 0$/m);
    expect(reads).toBe(1);
  });

  it("leaves the oldest pending age out unless asked", async () => {
    const registry = new Registry();
    const read = async () => ({ pending: 3, set_aside: 0, oldest_pending_age_seconds: 9 });
    outboxStatusGauges(registry, read, { prefix: "kasmap_b", rows: "Events", owner: "b" });
    const text = await registry.metrics();
    expect(text).toMatch(/^kasmap_b_pending_rows 3$/m);
    expect(text).not.toMatch(/oldest_pending_age/);
  });
});
