/**
 * The metric names a PromQL expression reads, without a full PromQL parser: string literals,
 * label matchers (`{…}`), range and subquery selectors (`[…]`) and grouping clauses
 * (`by (…)`, `without (…)`, `on (…)`, `ignoring (…)`, `group_left (…)`, `group_right (…)`)
 * are removed first; then every identifier that is not called as a function, not a keyword and
 * not a number is a metric name. Enough for the expressions of infra/ (promtool checks their
 * syntax); an expression it cannot read throws.
 */
export function metricNamesOf(expression: string): string[] {
  let text = expression.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  text = text.replace(/\{[^{}]*\}/g, " ");
  text = text.replace(/\[[^[\]]*\]/g, " ");
  text = text.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g, " ");
  if (/[{}[\]]/.test(text)) throw new Error(`cannot read the PromQL expression: ${expression}`);
  const names = new Set<string>();
  for (const match of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const identifier = match[0];
    const after = text.slice((match.index ?? 0) + identifier.length);
    if (/^\s*\(/.test(after)) continue;
    if (KEYWORDS.has(identifier.toLowerCase())) continue;
    // 1e3, 0x1F: the letter belongs to a number.
    if (/[0-9.]$/.test(text.slice(0, match.index ?? 0))) continue;
    names.add(identifier);
  }
  return [...names];
}

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);
