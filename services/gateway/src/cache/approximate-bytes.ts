/** Bytes counted for every object, array or Map entry beyond its contents (V8's headers and slots). */
const OBJECT_OVERHEAD_BYTES = 32;
/** Bytes counted for a number, boolean, null or undefined (a tagged slot or a heap number). */
const SCALAR_BYTES = 8;
/** Deeper values are counted as a flat estimate: cached rows are a few levels deep at most. */
const MAX_DEPTH = 8;

/** Any character beyond Latin-1 makes V8 store the whole string in two bytes per character. */
function stringBytes(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) return 2 * text.length + 16;
  }
  return text.length + 16;
}

/**
 * An approximate size of `value` in memory, bytes: 1 per string character (2 for a string
 * holding any character beyond Latin-1, as V8 stores them), 8 per scalar, a fixed overhead per object and array, keys
 * counted like strings. Only for bounding caches: it is cheap (one walk) and errs high, never
 * a measurement of the heap.
 */
export function approximateBytes(value: unknown, depth = 0): number {
  if (typeof value === "string") return stringBytes(value);
  if (value === null || typeof value !== "object") return SCALAR_BYTES;
  if (depth >= MAX_DEPTH) return OBJECT_OVERHEAD_BYTES;
  if (value instanceof Date) return OBJECT_OVERHEAD_BYTES;
  let bytes = OBJECT_OVERHEAD_BYTES;
  if (Array.isArray(value)) {
    for (const item of value) bytes += approximateBytes(item, depth + 1);
    return bytes;
  }
  for (const [key, item] of Object.entries(value)) {
    bytes += stringBytes(key) + approximateBytes(item, depth + 1);
  }
  return bytes;
}
