import { describe, expect, it } from "vitest";
import { projectionUnits } from "./projection-units.ts";

describe("projectionUnits", () => {
  it("is the four whole-stream consumers for one partition", () => {
    expect(projectionUnits(1).map((u) => [u.label, u.partition, u.leaseKey])).toEqual([
      ["projection-registry", null, 0],
      ["projection-authz", null, 1000],
      ["projection-cluster", null, 2000],
      ["projection-heartbeat", null, 3000],
    ]);
  });

  it("splits only the cluster and heartbeat streams, with a lease key each", () => {
    const units = projectionUnits(3);
    expect(units.map((u) => u.label)).toEqual([
      "projection-registry",
      "projection-authz",
      "projection-cluster[0/3]",
      "projection-cluster[1/3]",
      "projection-cluster[2/3]",
      "projection-heartbeat[0/3]",
      "projection-heartbeat[1/3]",
      "projection-heartbeat[2/3]",
    ]);
    expect(new Set(units.map((u) => u.leaseKey)).size).toBe(units.length);
    expect(units.find((u) => u.label === "projection-heartbeat[1/3]")?.partition).toEqual({
      index: 1,
      count: 3,
    });
  });

  it.each([0, -1, 1.5, 65])("refuses %s partitions", (partitions) => {
    expect(() => projectionUnits(partitions)).toThrow(RangeError);
  });
});
