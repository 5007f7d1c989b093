import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import { ALERT_RULES_FILE, alertRuleExpressions, dashboardExpressions } from "./infra-queries.ts";

/** infra/prometheus/kasmap-alerts.test.yaml: `promtool test rules` cases for the alert rules. */
const ALERT_RULE_TESTS_FILE = fileURLToPath(new URL("./kasmap-alerts.test.yaml", import.meta.url));

/**
 * Runs Debian's promtool (package `prometheus`; `.ci/run` installs it). Missing, the test fails
 * and says so: it never skips.
 */
function promtool(...args: string[]): string {
  try {
    return execFileSync("promtool", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "promtool is not installed: apt-get install prometheus (Debian ships /usr/bin/promtool)",
      );
    }
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(" ")} failed:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`);
  }
}

describe("infra/prometheus and infra/grafana", () => {
  it("the alert rules pass `promtool check rules`", () => {
    const output = promtool("check", "rules", ALERT_RULES_FILE);
    expect(output).toContain(`SUCCESS: ${alertRuleExpressions().length} rules found`);
  });

  it("the alert rules fire as `promtool test rules` expects (projection lag once per stuck partition, storage near its limit, a route answering 5xx)", () => {
    expect(promtool("test", "rules", ALERT_RULE_TESTS_FILE)).toContain("SUCCESS");
  });

  it("every dashboard query is valid PromQL (promtool reads it as a recording rule)", () => {
    const queries = dashboardExpressions();
    expect(queries.length).toBeGreaterThan(20);
    const directory = mkdtempSync(join(tmpdir(), "kasmap-dashboard-"));
    try {
      const file = join(directory, "dashboard-queries.yaml");
      const rules = queries.map((query, i) => ({ record: `kasmap:dashboard_query_${i}`, expr: query.expr }));
      writeFileSync(file, stringifyYaml({ groups: [{ name: "dashboard", rules }] }));
      expect(promtool("check", "rules", file)).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
