import type { VerificationResult } from "@kasmap/contracts";

/**
 * The verdict as a plain-text table for a CI log: one line per check (status, field, value,
 * expected — the range that holds a passing address, every range for a failing one — reason),
 * then a summary line. No colours: CI logs and grep both read it.
 *
 * ```
 * STATUS  FIELD              VALUE     EXPECTED     REASON
 * ok      node_ips.internal  10.0.1.1  10.0.0.0/16
 * FAIL    platform           eks       gke          platform is "eks", expected "gke"
 * kasmap-verify: 1 of 2 checks failed for acme/infra:prod-agent
 * ```
 */
export function renderVerificationTable(result: VerificationResult, agentLabel: string): string {
  const header = ["STATUS", "FIELD", "VALUE", "EXPECTED", "REASON"];
  const rows = result.checks.map((c) => [
    c.ok ? "ok" : "FAIL",
    c.field,
    c.value ?? "(none)",
    expectedCell(result, c),
    c.reason ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const failed = result.checks.filter((c) => !c.ok).length;
  const summary = result.ok
    ? `kasmap-verify: all ${result.checks.length} checks passed for ${agentLabel}`
    : `kasmap-verify: ${failed} of ${result.checks.length} checks failed for ${agentLabel}`;
  return [line(header), ...rows.map(line), summary].join("\n");
}

/** A name check's expected text; a passing address's range; else every range it was checked against. */
function expectedCell(result: VerificationResult, check: VerificationResult["checks"][number]): string {
  if (check.expected !== undefined) return check.expected;
  if (check.within !== undefined) return check.within;
  const listed = result.expected[check.expectation];
  return Array.isArray(listed) ? listed.join(",") : (listed ?? "");
}
