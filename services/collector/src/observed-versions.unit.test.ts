import { describe, expect, it } from "vitest";
import { decodeObservedVersions, encodeObservedVersions, sourcesBehind } from "./observed-versions.ts";

describe("observed versions", () => {
  it("names the sources where the other view is newer, comparing as integers", () => {
    expect(sourcesBehind({ nodes: "99", services: "120" }, { nodes: "100", services: "20" })).toEqual([
      "nodes",
    ]);
    expect(sourcesBehind({ nodes: "100" }, { nodes: "100" })).toEqual([]);
    expect(sourcesBehind({ nodes: "18446744073709551617" }, { nodes: "18446744073709551616" })).toEqual([]);
  });

  it("counts an answer it has not had yet as behind, and never calls an opaque version older", () => {
    expect(sourcesBehind({}, { nodes: "5" })).toEqual(["nodes"]);
    expect(sourcesBehind({ nodes: "5" }, {})).toEqual([]);
    expect(sourcesBehind({ nodes: "abc" }, { nodes: "5" })).toEqual([]);
    expect(sourcesBehind({ nodes: "5" }, { nodes: "x9" })).toEqual([]);
  });

  it("round-trips through the header, dropping what is not a comparable version", () => {
    const value = encodeObservedVersions({ services: "7", nodes: "12", odd: "0", opaque: "a1" });
    expect(value).toBe('{"nodes":"12","services":"7"}');
    expect(decodeObservedVersions(value)).toEqual({ nodes: "12", services: "7" });
    expect(decodeObservedVersions(undefined)).toBeNull();
    expect(decodeObservedVersions("not json")).toBeNull();
    expect(decodeObservedVersions("[1]")).toBeNull();
    expect(decodeObservedVersions('{"nodes":12,"pods":"3"}')).toEqual({ pods: "3" });
  });
});
