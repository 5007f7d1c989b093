import { afterAll, beforeAll } from "vitest";

/**
 * What `start` makes, for one test file (the repository's one setup pattern): made in
 * `beforeAll`, registered first so it runs before the file's own `beforeAll` hooks, and given to
 * `release` in `afterAll`, after the file's own (vitest runs those in reverse). The answer is
 * filled in when made, so read it inside hooks and tests only, never at import time (it is empty
 * then). Nothing is released when `start` failed.
 */
export function resourceForFile<T extends object>(
  start: () => Promise<T>,
  release: (resource: T) => Promise<void>,
): T {
  const resource = {} as T;
  let made = false;
  beforeAll(async () => {
    Object.assign(resource, await start());
    made = true;
  });
  afterAll(async () => {
    if (made) await release(resource);
  });
  return resource;
}
