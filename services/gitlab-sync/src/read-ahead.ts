/**
 * Yields `pages` while already reading the next one: GitLab serves page n+1 while the caller
 * puts page n. Holds at most one page beyond the caller's. A failed read surfaces when the
 * caller asks for that page (never as an unhandled rejection); a caller that stops early
 * closes the underlying listing.
 */
export async function* readAhead<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]();
  const nextPage = () => {
    const read = iterator.next();
    read.catch(() => {}); // observed by the await below; this only silences it meanwhile
    return read;
  };
  let pending = nextPage();
  let finished = false;
  try {
    for (;;) {
      const page = await pending;
      if (page.done) {
        finished = true;
        return;
      }
      pending = nextPage();
      yield page.value;
    }
  } catch (error) {
    finished = true;
    throw error;
  } finally {
    if (!finished) await iterator.return?.().catch(() => {});
  }
}
