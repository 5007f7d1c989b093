import { describe, expect, it } from "vitest";
import { derivePathFromName, nameAndPath } from "./project-path.ts";

describe("project name and path defaults", () => {
  it.each([
    ["My Project", "my-project"],
    ["  Déjà vu!  ", "deja-vu"],
    ["api_v2.service", "api_v2.service"],
    ["a -- b", "a-b"],
  ])("path from name %j is %j", (name, path) => {
    expect(derivePathFromName(name)).toBe(path);
  });

  it("keeps both when given, derives the missing one, or gives up", () => {
    expect(nameAndPath({ name: "N", path: "p" })).toEqual({ name: "N", path: "p" });
    expect(nameAndPath({ name: "My App" })).toEqual({ name: "My App", path: "my-app" });
    expect(nameAndPath({ path: "my-app" })).toEqual({ name: "my-app", path: "my-app" });
    expect(nameAndPath({})).toBeNull();
  });
});
