import { describe, expect, it } from "vitest";
import { readAhead } from "./read-ahead.ts";

describe("readAhead", () => {
  it("yields every page in order, having asked for the next before the caller is done", async () => {
    const asked: number[] = [];
    async function* pages() {
      for (const n of [1, 2, 3]) {
        asked.push(n);
        yield n;
      }
    }
    const seen: number[] = [];
    for await (const page of readAhead(pages())) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(page);
      expect(asked.length).toBe(Math.min(page + 1, 3));
    }
    expect(seen).toEqual([1, 2, 3]);
  });

  it("surfaces a failed read at that page, after the pages before it", async () => {
    async function* pages() {
      yield 1;
      throw new Error("GitLab unreachable");
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const page of readAhead(pages())) seen.push(page);
      })(),
    ).rejects.toThrow("GitLab unreachable");
    expect(seen).toEqual([1]);
  });

  it("closes the listing when the caller stops early", async () => {
    let closed = false;
    async function* pages() {
      try {
        for (let n = 1; ; n++) yield n;
      } finally {
        closed = true;
      }
    }
    for await (const page of readAhead(pages())) if (page === 2) break;
    expect(closed).toBe(true);
  });
});
