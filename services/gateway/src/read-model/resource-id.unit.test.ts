import { describe, expect, it } from "vitest";
import { parseNumericId, parseResourceId } from "./resource-id.ts";

describe("parseResourceId", () => {
  it.each([
    ["42", { kind: "id", id: 42 }],
    ["group/sub/project", { kind: "path", path: "group/sub/project" }],
    ["/group/project/", { kind: "path", path: "group/project" }],
    ["Group.Name/my-proj_1", { kind: "path", path: "Group.Name/my-proj_1" }],
    ["42abc", { kind: "path", path: "42abc" }],
    ["", null],
    ["0", null],
    ["99999999999999999999", null],
  ])("%s", (raw, expected) => {
    expect(parseResourceId(raw)).toEqual(expected);
  });
});

describe("parseNumericId", () => {
  it.each([
    ["7", 7],
    ["0", null],
    ["-1", null],
    ["7a", null],
    ["1e3", null],
  ])("%s", (raw, expected) => {
    expect(parseNumericId(raw)).toBe(expected);
  });
});
