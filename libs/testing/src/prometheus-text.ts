/**
 * The value of one sample in Prometheus' text format: the series `name` whose labels are
 * exactly `labels` (in any order); undefined when there is none. For tests that scrape
 * `/metrics`.
 */
export function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .sort()
    .join(",");
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = (match[2] ?? "")
      .split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/)
      .filter((pair) => pair.length > 0)
      .sort()
      .join(",");
    if (found === wanted) return Number(match[3]);
  }
  return undefined;
}
