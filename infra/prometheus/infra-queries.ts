import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** infra/prometheus/kasmap-alerts.yaml: Prometheus alerting rules. */
export const ALERT_RULES_FILE = fileURLToPath(new URL("./kasmap-alerts.yaml", import.meta.url));
/** infra/grafana/kasmap-dashboard.json: the Grafana dashboard. */
export const DASHBOARD_FILE = fileURLToPath(new URL("../grafana/kasmap-dashboard.json", import.meta.url));

/** Grafana's interval variable, which Prometheus itself does not know. */
const GRAFANA_RATE_INTERVAL = "$__rate_interval";

const AlertRulesSchema = z.object({
  groups: z.array(
    z.object({ name: z.string(), rules: z.array(z.object({ alert: z.string(), expr: z.string() })) }),
  ),
});

type Panel = { title?: string; targets?: { expr?: string }[]; panels?: Panel[] };
const PanelSchema: z.ZodType<Panel> = z.lazy(() =>
  z.object({
    title: z.string().optional(),
    targets: z.array(z.object({ expr: z.string().optional() })).optional(),
    panels: z.array(PanelSchema).optional(),
  }),
);
const DashboardSchema = z.object({ panels: z.array(PanelSchema) });

/** Every alert rule's expression, named by its alert. */
export function alertRuleExpressions(): { name: string; expr: string }[] {
  const rules = AlertRulesSchema.parse(parseYaml(readFileSync(ALERT_RULES_FILE, "utf8")));
  return rules.groups.flatMap((group) => group.rules.map((rule) => ({ name: rule.alert, expr: rule.expr })));
}

/**
 * Every query of the dashboard (rows' panels included), named by its panel, with Grafana's
 * `$__rate_interval` replaced by `5m` so that Prometheus' own tools can read it.
 */
export function dashboardExpressions(): { name: string; expr: string }[] {
  const dashboard = DashboardSchema.parse(JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")));
  const queries: { name: string; expr: string }[] = [];
  const visit = (panel: Panel) => {
    for (const target of panel.targets ?? []) {
      if (target.expr)
        queries.push({
          name: panel.title ?? "(untitled)",
          expr: target.expr.replaceAll(GRAFANA_RATE_INTERVAL, "5m"),
        });
    }
    for (const child of panel.panels ?? []) visit(child);
  };
  for (const panel of dashboard.panels) visit(panel);
  return queries;
}
