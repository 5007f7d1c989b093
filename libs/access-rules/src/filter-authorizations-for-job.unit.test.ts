import type { CiAccessConfig } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import {
  environmentMatches,
  filterAuthorizationsForJob,
  type JobContext,
  jobDenialReason,
} from "./filter-authorizations-for-job.ts";

describe("environmentMatches (anchored, unlike GitLab)", () => {
  const cases: [string, string, boolean][] = [
    ["production", "production", true],
    ["production", "production-eu", false],
    ["production", "Production", false],
    ["review/*", "review/feature-1", true],
    ["review/*", "review/", true],
    ["review/*", "review/a/b", true],
    ["review/*", "x-review/y", false],
    ["review/*", "review", false],
    ["*", "anything", true],
    ["*-eu", "prod-eu", true],
    ["*-eu", "prod-eu-2", false],
    ["prod-*-eu", "prod-1-eu", true],
    ["v1.*", "v1.2", true],
    ["v1.*", "v1x2", false],
    ["a+b*", "a+bc", true],
    ["a+b*", "aabc", false],
    ["(x)*", "(x)1", true],
    ["[ab]*", "a1", false],
    ["", "", true],
    ["", "x", false],
    ["**", "", true],
    ["a*a", "a", false],
    ["a*a", "aa", true],
    ["*ab*ab", "abab", true],
    ["*ab*ab", "aabab", true],
    ["*ab*ab", "abba", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "axxbyycz", false],
    ["*x", "xyx", true],
    ["\\d*", "\\d1", true],
  ];
  it.each(cases)("%s vs %s → %s", (pattern, name, expected) => {
    expect(environmentMatches(pattern, name)).toBe(expected);
  });
});

describe("environmentMatches runs in linear time (no backtracking)", () => {
  // A backtracking regex tries every way to split the name between the stars: with k stars
  // and n characters that is O(n^k). Seven stars against 55 characters took seconds; these
  // answer in microseconds with a linear matcher; a backtracking one would run for ages, past
  // the test's timeout (the bound: no clock is read).
  const hostile: [string, string, string][] = [
    ["7 stars, 55 characters", "*a".repeat(7) + "!", "a".repeat(55)],
    ["30 stars, 10,000 characters", "*a".repeat(30) + "!", "a".repeat(10_000)],
    ["200 stars, 10,000 characters", "*ab".repeat(200) + "*c", "ab".repeat(5_000)],
  ];
  it.each(hostile)("%s answers at once", (_name, pattern, name) => {
    expect(environmentMatches(pattern, name)).toBe(false);
  });

  it("still matches long names that do fit", () => {
    expect(environmentMatches("*a".repeat(30), "a".repeat(10_000))).toBe(true);
    expect(environmentMatches("review/*/x*", `review/${"y".repeat(10_000)}/xz`)).toBe(true);
  });
});

const job = (environment: string | null, ref_protected: boolean | null): JobContext => ({
  environment: environment === null ? null : { name: environment },
  ref_protected,
});

describe("jobDenialReason / filterAuthorizationsForJob", () => {
  const cases: [string, CiAccessConfig, JobContext, RegExp | null][] = [
    ["no restrictions", {}, job(null, false), null],
    ["empty environments list passes", { environments: [] }, job(null, true), null],
    ["environment listed", { environments: ["staging", "review/*"] }, job("review/x", false), null],
    [
      "environment not listed",
      { environments: ["staging"] },
      job("production", true),
      /"production" matches none of: staging/,
    ],
    [
      "job without environment fails a non-blank list",
      { environments: ["staging"] },
      job(null, true),
      /has no environment/,
    ],
    ["protected-only on a protected ref", { protected_branches_only: true }, job(null, true), null],
    [
      "protected-only on an unprotected ref",
      { protected_branches_only: true },
      job(null, false),
      /not protected/,
    ],
    [
      "protected_branches_only: false on an unprotected ref",
      { protected_branches_only: false },
      job(null, false),
      null,
    ],
    ["unknown protection denies even unrestricted entries", {}, job("prod", null), /unknown/],
    [
      "unknown protection denies protected-only entries",
      { protected_branches_only: true },
      job(null, null),
      /unknown/,
    ],
  ];
  it.each(cases)("%s", (_name, config, context, expected) => {
    const reason = jobDenialReason(config, context);
    if (expected === null) expect(reason).toBeNull();
    else expect(reason).toMatch(expected);
    expect(filterAuthorizationsForJob([{ id: 1, config }], context)).toHaveLength(expected === null ? 1 : 0);
  });

  it("keeps order and the caller's objects", () => {
    const a = { id: "a", config: {} };
    const b = { id: "b", config: { protected_branches_only: true } };
    const c = { id: "c", config: { environments: ["prod"] } };
    expect(filterAuthorizationsForJob([a, b, c], job("prod", false))).toEqual([a, c]);
  });
});
