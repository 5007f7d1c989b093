import { expect } from "vitest";
import { GitLabApiError } from "../errors.ts";

/** The `GitLabApiError` a call fails with (the test fails when it succeeds or fails otherwise). */
export async function apiFailure(promise: Promise<unknown>): Promise<GitLabApiError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GitLabApiError);
  return error as GitLabApiError;
}
