/**
 * JSON with object keys sorted at every depth (array order is kept: it can matter), and keys
 * whose value is `undefined` left out as JSON.stringify does. Equal content gives equal text
 * whatever the key order — e.g. a document read back from PostgreSQL `jsonb` — so it is what
 * content hashes and change comparisons are computed over.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * Whether `canonicalJson(a) === canonicalJson(b)` for values as JSON gives them (no sparse
 * arrays), without building either text: compared value by value, stopping at the first
 * difference. What a change comparison needs — the node lists of a 5,000-node cluster are
 * ~250 KB of text each, and a snapshot is compared field by field.
 */
export function sameCanonicalJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const aIsObject = a !== null && typeof a === "object";
  const bIsObject = b !== null && typeof b === "object";
  // Scalars as canonicalJson writes them (undefined, NaN and null are all "null").
  if (!aIsObject && !bIsObject) return (JSON.stringify(a) ?? "null") === (JSON.stringify(b) ?? "null");
  if (!aIsObject || !bIsObject) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameCanonicalJson(a[i], b[i])) return false;
    return true;
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  let keys = 0;
  for (const key of Object.keys(aRecord)) {
    const value = aRecord[key];
    if (value === undefined) continue;
    keys += 1;
    if (!Object.hasOwn(bRecord, key) || !sameCanonicalJson(value, bRecord[key])) return false;
  }
  for (const key of Object.keys(bRecord)) if (bRecord[key] !== undefined) keys -= 1;
  return keys === 0;
}
