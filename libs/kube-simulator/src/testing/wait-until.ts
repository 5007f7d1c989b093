/**
 * Polls `condition` until it returns true or `timeoutMs` passes; never asserts on timing,
 * only on the state eventually reached. Throws with `description` on timeout.
 */
export async function waitUntil(
  description: string,
  condition: () => boolean,
  { timeoutMs = 10_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${description}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
