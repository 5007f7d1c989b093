import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "./database-unavailable.ts";

const withCode = (code: string) => Object.assign(new Error("x"), { code });

describe("isDatabaseUnavailable", () => {
  it.each([
    ["connection refused (Node)", withCode("ECONNREFUSED"), true],
    ["connection reset (Node)", withCode("ECONNRESET"), true],
    ["08006 connection failure", withCode("08006"), true],
    ["53300 too many connections", withCode("53300"), true],
    ["57P01 admin shutdown", withCode("57P01"), true],
    ["57014 statement timeout", withCode("57014"), true],
    ["3D000 database gone", withCode("3D000"), true],
    ["23505 unique violation", withCode("23505"), false],
    ["42P01 undefined table", withCode("42P01"), false],
    ["22P02 invalid text", withCode("22P02"), false],
    ["a plain error", new Error("boom"), false],
    ["not an error", "ECONNREFUSED", false],
  ])("%s → %s", (_name, error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});
