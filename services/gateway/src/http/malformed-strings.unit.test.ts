import { describe, expect, it } from "vitest";
import { malformedStringIn } from "./malformed-strings.ts";

const request = (part: Partial<Record<"params" | "query" | "body", unknown>>) => ({
  params: {},
  query: {},
  body: undefined,
  ...part,
});

describe("malformedStringIn", () => {
  it.each([
    ["a NUL in a path id", request({ params: { id: "a\u0000b" } }), "path"],
    ["a lone high surrogate in the query", request({ query: { q: "x\ud800" } }), "query"],
    ["a lone low surrogate deep in a body", request({ body: { a: [{ b: ["\udc00"] }] } }), "body"],
    ["a NUL in a body key", request({ body: { "\u0000": 1 } }), "body"],
    ["a NUL in a raw text body", request({ body: "ci_access:\u0000" }), "body"],
  ])("finds %s", (_what, input, where) => {
    expect(malformedStringIn(input)).toBe(where);
  });

  it.each([
    ["ordinary text", request({ params: { id: "group/project" }, body: { name: "é ☃" } })],
    ["a well-formed surrogate pair (an emoji)", request({ body: { name: "deploy 🚀" } })],
    ["numbers, booleans and null", request({ body: { a: 1, b: true, c: null } })],
  ])("accepts %s", (_what, input) => {
    expect(malformedStringIn(input)).toBeNull();
  });

  it("walks a deeply nested body without overflowing the stack", () => {
    let body: unknown = "\u0000";
    for (let i = 0; i < 100_000; i++) body = [body];
    expect(malformedStringIn(request({ body }))).toBe("body");
  });
});
