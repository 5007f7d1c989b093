import { describe, expect, it } from "vitest";
import { parseLsn } from "./read-routing.ts";

describe("parseLsn", () => {
  it.each([
    ["0/0", 0n],
    ["0/16B3748", 0x16b3748n],
    ["1/0", 1n << 32n],
    ["FFFFFFFF/FFFFFFFF", (1n << 64n) - 1n],
  ])("%s is %s bytes into the WAL", (text, bytes) => {
    expect(parseLsn(text)).toBe(bytes);
  });

  it("orders positions as PostgreSQL does (the high half first)", () => {
    expect(parseLsn("1/0") > parseLsn("0/FFFFFFFF")).toBe(true);
  });

  it.each(["", "16B3748", "0/", "x/1", "1/2/3"])("refuses %j", (text) => {
    expect(() => parseLsn(text)).toThrow(/pg_lsn/);
  });
});
