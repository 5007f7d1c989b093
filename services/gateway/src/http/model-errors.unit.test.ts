import { describe, expect, it } from "vitest";
import { asFailedToSaveGroup, failedToSaveGroup } from "./model-errors.ts";

describe("failedToSaveGroup (GitLab's POST /groups refusal)", () => {
  it("prints the errors as Ruby prints a Hash of Symbols to arrays of Strings", () => {
    const error = failedToSaveGroup({ path: ["has already been taken"], "route.path": ["is invalid"] });
    expect(error.httpStatus).toBe(400);
    expect(error.toGitLabBody()).toEqual({
      message: 'Failed to save group {:path=>["has already been taken"], :"route.path"=>["is invalid"]}',
    });
  });

  it("escapes quotes as String#inspect does, and # before { as Ruby does", () => {
    const error = failedToSaveGroup({ name: ['says "hi" #{x}'] });
    expect(error.message).toBe('Failed to save group {:name=>["says \\"hi\\" \\#{x}"]}');
  });

  it("leaves errors without fields alone", () => {
    const other = new Error("boom");
    expect(asFailedToSaveGroup(other)).toBe(other);
  });
});
