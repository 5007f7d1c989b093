import { describe, expect, it } from "vitest";
import { retryAtStart, type StartRetry } from "./retry-at-start.ts";

describe("retryAtStart", () => {
  it("retries until the attempt succeeds, reporting each failure before it waits", async () => {
    const retries: StartRetry[] = [];
    let calls = 0;
    const value = await retryAtStart(
      "NATS",
      async () => {
        calls++;
        if (calls < 3) throw new Error(`refused ${calls}`);
        return "connected";
      },
      (retry) => retries.push(retry),
    );
    expect(value).toBe("connected");
    expect(retries.map((r) => [r.dependency, r.attempt])).toEqual([
      ["NATS", 1],
      ["NATS", 2],
    ]);
    expect(retries.every((r) => r.retryInMs > 0 && r.retryInMs <= 30_000)).toBe(true);
  });

  it("stops with the last error once shut down", async () => {
    const controller = new AbortController();
    const attempt = retryAtStart(
      "PostgreSQL",
      async () => {
        throw new Error("refused");
      },
      () => controller.abort(),
      controller.signal,
    );
    await expect(attempt).rejects.toThrow("refused");
  });
});
