/**
 * RFC 4180 CSV: cells holding a comma, a double quote, CR or LF are quoted, with quotes doubled;
 * records end in CRLF. Cells whose first character a spreadsheet would run as a formula (`=`,
 * `+`, `-`, `@`, tab, CR) get a leading `'` (OWASP "CSV injection"): cluster names and contexts
 * come from clusters, not from Kasmap, and an export is meant to be opened in a spreadsheet.
 */
export type CsvValue = string | number | boolean | null | undefined;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header record and one record per row, each `\r\n`-terminated. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((record) => `${record.map(csvCell).join(",")}\r\n`).join("");
}
