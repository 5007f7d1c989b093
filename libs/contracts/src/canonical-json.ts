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
