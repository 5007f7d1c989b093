import { describe, expect, it } from "vitest";
import { metricNamesOf } from "./promql-metric-names.ts";

describe("metricNamesOf", () => {
  it.each([
    { expr: "max(kasmap_a) > 0", names: ["kasmap_a"] },
    {
      expr: 'sum by (service, consumer) (increase(kasmap_b_total{type=~"x|y"}[10m])) > 0',
      names: ["kasmap_b_total"],
    },
    {
      expr: "histogram_quantile(0.99, sum by (le, route) (rate(kasmap_c_bucket[$__rate_interval])))",
      names: ["kasmap_c_bucket"],
    },
    { expr: "time() - max(kasmap_d)", names: ["kasmap_d"] },
    {
      expr: "kasmap_e / on (instance) group_left (job) kasmap_f and bool 1e3",
      names: ["kasmap_e", "kasmap_f"],
    },
    { expr: 'up{job="a{b}"}', names: ["up"] },
  ])("$expr reads $names", ({ expr, names }) => {
    expect(metricNamesOf(expr)).toEqual(names);
  });

  it("throws on an expression it cannot read rather than missing a name", () => {
    expect(() => metricNamesOf("sum(x{a=~{b}})")).toThrow(/cannot read/);
  });
});
