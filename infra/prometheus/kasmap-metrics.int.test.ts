import { registerCollectorMetrics } from "@kasmap/collector-service";
import { createProgramRegistry, exposedSeriesNames } from "@kasmap/runtime/metrics";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { sampleValue } from "@kasmap/testing/prometheus-text";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRuleExpressions, dashboardExpressions } from "./infra-queries.ts";
import { metricNamesOf } from "./promql-metric-names.ts";

// Every service on one registry, as `npm start` runs them (GitLab mode, so the sync service
// too), and the collector's metrics as its program registers them.
const registry = createProgramRegistry();
let gitlab: GitLabSimulator;
let system: KasmapSystem;

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  const admin = gitlab.addUser({ username: "metrics-admin", is_admin: true });
  system = await startKasmapSystem({
    metrics: registry,
    gitlab: { url: gitlab.url, token: gitlab.addToken(admin.id), reconcileSeconds: 3600 },
  });
  registerCollectorMetrics(registry);
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await gitlab?.close();
});

describe("the metrics infra/ reads", () => {
  it("every query of the dashboard and every alert rule names only metrics a service exports", () => {
    const exported = exposedSeriesNames(registry);
    const queries = [...dashboardExpressions(), ...alertRuleExpressions()];
    expect(queries.length).toBeGreaterThan(30);
    const unknown = queries.flatMap((query) => {
      const names = metricNamesOf(query.expr);
      if (names.length === 0) return [`${query.name}: names no metric`];
      return names.filter((name) => !exported.has(name)).map((name) => `${query.name}: ${name}`);
    });
    expect(unknown).toEqual([]);
  });

  it("every exported metric is prefixed kasmap_", () => {
    expect([...exposedSeriesNames(registry)].filter((name) => !name.startsWith("kasmap_"))).toEqual([]);
  });

  it("the gateway serves every in-process service's metrics, as under npm start", async () => {
    const text = await (await fetch(`${system.gatewayUrl}/metrics`)).text();
    for (const line of [
      /^kasmap_projection_lag_messages\{consumer="projection-registry",partition="all"\} \d+$/m,
      /^kasmap_authz_outbox_pending_rows \d+$/m,
      /^kasmap_gitlab_sync_reconcile_period_seconds 3600$/m,
      /^kasmap_nats_connected\{service="projection"\} 1$/m,
      /^kasmap_nats_connected\{service="gitlab-sync"\} 1$/m,
      /^kasmap_gateway_authenticated_requests_total \d+$/m,
      /^kasmap_process_resident_memory_bytes \d+$/m,
    ]) {
      expect(text).toMatch(line);
    }
  });

  it("a reconcile with GitLab moves the sync service's request counter and authz's command counter", async () => {
    const scrape = async () => (await fetch(`${system.gatewayUrl}/metrics`)).text();
    const okCommands = (text: string) =>
      text
        .split("\n")
        .filter((line) => line.startsWith("kasmap_authz_commands_total{") && line.includes('outcome="ok"'))
        .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
    const before = await scrape();
    await system.sync?.reconcileNow();
    const after = await scrape();
    const answered = (text: string) =>
      sampleValue(text, "kasmap_gitlab_sync_requests_total", { status: "200" }) ?? 0;
    expect(answered(after)).toBeGreaterThan(answered(before));
    expect(okCommands(after)).toBeGreaterThan(okCommands(before));
  });
});
