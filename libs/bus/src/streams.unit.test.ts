import { createTopology } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { streamConfig } from "./streams.ts";

describe("streamConfig", () => {
  it.each([1, 3, 5] as const)("declares every stream with the topology's %i replicas", (replicas) => {
    const topology = createTopology("kasmap", 400, replicas);
    for (const declaration of topology.streams) expect(streamConfig(declaration).num_replicas).toBe(replicas);
  });

  it("has one replica unless told, as on a single server", () => {
    for (const declaration of createTopology().streams)
      expect(streamConfig(declaration).num_replicas).toBe(1);
  });
});
