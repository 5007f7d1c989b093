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
});
