import { describe, expect, it } from "vitest";
import { environmentSlug } from "./environment-slug.ts";

describe("environmentSlug", () => {
  const cases: Array<[string, string]> = [
    ["production", "production"],
    ["Review/Feature_X", "review-feature-x"],
    ["--staging--", "staging"],
    ["1st", "env-1st"],
    ["///", "env"],
    ["a-very-long-environment-name-beyond-limit", "a-very-long-environment"],
  ];
  for (const [name, slug] of cases) {
    it(`${name} → ${slug}`, () => expect(environmentSlug(name)).toBe(slug));
  }
});
