import { describe, expect, it } from "vitest";
import { storageWarning } from "./jetstream-storage.ts";

const reading = (usedBytes: number, limitBytes: number | null) => ({
  usedBytes,
  limitBytes,
  streams: [{ name: "KASMAP_CLUSTER", bytes: 10, messages: 2 }],
});

describe("storageWarning", () => {
  it.each([
    { case: "below 80 % of the account limit", storage: reading(79, 100), bytes: null, warns: false },
    { case: "at 80 % of the account limit", storage: reading(80, 100), bytes: null, warns: true },
    { case: "no limit and no byte threshold", storage: reading(10 ** 12, null), bytes: null, warns: false },
    { case: "no limit, past the byte threshold", storage: reading(2_000, null), bytes: 1_000, warns: true },
  ])("$case: warns = $warns", ({ storage, bytes, warns }) => {
    expect(storageWarning(storage, { ratio: 0.8, bytes }) !== null).toBe(warns);
  });
});
