import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "./metrics.ts";

describe("GatewayMetrics", () => {
  it("counts by method, route and status and keeps a cumulative histogram", async () => {
    const metrics = new GatewayMetrics();
    metrics.observe("GET", "/api/v4/projects/:id", 200, 3);
    metrics.observe("GET", "/api/v4/projects/:id", 200, 40);
    metrics.observe("GET", "/api/v4/projects/:id", 404, 1);
    const text = await metrics.render();
    expect(text).toContain(
      'kasmap_gateway_http_requests_total{method="GET",route="/api/v4/projects/:id",status="200"} 2',
    );
    expect(text).toContain('status="404"} 1');
    // prom-client writes `le` first; Prometheus does not care about label order.
    const bucket = (le: string) =>
      `kasmap_gateway_http_request_duration_seconds_bucket{le="${le}",method="GET",route="/api/v4/projects/:id"}`;
    expect(text).toContain(`${bucket("0.001")} 1`);
    expect(text).toContain(`${bucket("0.005")} 2`);
    expect(text).toContain(`${bucket("0.05")} 3`);
    expect(text).toContain(`${bucket("+Inf")} 3`);
  });

  it("counts requests whose credential was accepted", async () => {
    const metrics = new GatewayMetrics();
    expect(await metrics.render()).toContain("kasmap_gateway_authenticated_requests_total 0\n");
    metrics.authenticated();
    metrics.authenticated();
    expect(await metrics.render()).toContain("kasmap_gateway_authenticated_requests_total 2\n");
  });

  it("exposes a tally's answers exactly as observing each of them would", async () => {
    const durationsMs = [0.2, 1, 1, 2.4, 3, 40, 40, 99.9, 260, 7_000, 0.5];
    const observed = new GatewayMetrics();
    const tallied = new GatewayMetrics();
    const tally = tallied.tally("GET", "/hot", 200);
    for (const ms of durationsMs) {
      observed.observe("GET", "/hot", 200, ms);
      tally.add(ms);
    }
    const lines = async (metrics: GatewayMetrics) =>
      (await metrics.render()).split("\n").filter((line) => line.includes('route="/hot"'));
    const [want, got] = [await lines(observed), await lines(tallied)];
    const withoutSum = (all: string[]) => all.filter((line) => !line.includes("_sum{"));
    expect(withoutSum(got)).toEqual(withoutSum(want));
    expect(withoutSum(got)).toContain(
      'kasmap_gateway_http_requests_total{method="GET",route="/hot",status="200"} 11',
    );
    const sum = (all: string[]) => Number(all.find((line) => line.includes("_sum{"))?.split(" ")[1]);
    expect(sum(got)).toBeCloseTo(sum(want), 9);
    // Counted once: a second scrape adds nothing.
    expect(await lines(tallied)).toEqual(got);
  });

  it("shows every answer counted before a scrape, batches handed over on the way included", async () => {
    const metrics = new GatewayMetrics();
    const tally = metrics.tally("GET", "/hot", 200);
    for (let i = 0; i < 1_500; i++) tally.add(2);
    const json = await metrics.registry.getSingleMetric("kasmap_gateway_http_requests_total")?.get();
    // `get()` runs the collect hook too: every answer so far is there.
    expect(json?.values.find((value) => value.labels.route === "/hot")?.value).toBe(1_500);
  });

  it("counts accepted credentials by the scrape", async () => {
    const metrics = new GatewayMetrics();
    for (let i = 0; i < 3; i++) metrics.authenticated();
    expect(await metrics.render()).toContain("kasmap_gateway_authenticated_requests_total 3\n");
    expect(await metrics.render()).toContain("kasmap_gateway_authenticated_requests_total 3\n");
  });
});
