import { describe, expect, it } from "vitest";
import { Registry } from "./metrics-registry.ts";
import { readingGauge, sharedReading, sharedValueGauges } from "./reading-gauge.ts";

describe("readingGauge", () => {
  it("is absent before a reading and while a reading has no samples", async () => {
    const registry = new Registry();
    let samples: { value: number }[] = [];
    readingGauge(registry, { name: "kasmap_test_rows", help: "rows", read: () => samples });
    expect(await registry.metrics()).not.toMatch(/^kasmap_test_rows /m);
    samples = [{ value: 3 }];
    expect(await registry.metrics()).toMatch(/^kasmap_test_rows 3$/m);
    samples = [];
    expect(await registry.metrics()).not.toMatch(/^kasmap_test_rows /m);
  });

  it("keeps the previous value when a reading fails, and counts the failure", async () => {
    const registry = new Registry();
    let fail = false;
    readingGauge(registry, {
      name: "kasmap_test_lag",
      help: "lag",
      labelNames: ["consumer"],
      read: async () => {
        if (fail) throw new Error("database away");
        return [{ labels: { consumer: "a" }, value: 7 }];
      },
    });
    expect(await registry.metrics()).toContain('kasmap_test_lag{consumer="a"} 7');
    fail = true;
    expect(await registry.metrics()).toContain('kasmap_test_lag{consumer="a"} 7');
    // The counter is rendered before the gauge is read: a failure shows from the next scrape.
    const text = await registry.metrics();
    expect(text).toContain('kasmap_test_lag{consumer="a"} 7');
    expect(text).toContain('kasmap_metric_reading_failures_total{metric="kasmap_test_lag"} 1');
  });
});

describe("sharedReading", () => {
  it("reads once for several gauges of one scrape, and again after a failure", async () => {
    let reads = 0;
    let fail = true;
    const read = sharedReading(async () => {
      reads++;
      if (fail) throw new Error("away");
      return reads;
    }, 60_000);
    await expect(read()).rejects.toThrow("away");
    fail = false;
    expect(await read()).toBe(2);
    expect(await read()).toBe(2);
    expect(reads).toBe(2);
  });
});

describe("sharedValueGauges", () => {
  it("renders one gauge per picked value from one reading per scrape", async () => {
    const registry = new Registry();
    let reads = 0;
    sharedValueGauges(registry, async () => {
      reads++;
      return { pending: 4, oldest: null };
    }, [
      { name: "kasmap_test_pending", help: "pending", pick: (status) => status.pending },
      { name: "kasmap_test_oldest", help: "oldest", pick: (status) => status.oldest },
    ]);
    const text = await registry.metrics();
    expect(text).toMatch(/^kasmap_test_pending 4$/m);
    // null: the gauge is left out, not 0.
    expect(text).not.toMatch(/^kasmap_test_oldest /m);
    expect(reads).toBe(1);
  });
});
