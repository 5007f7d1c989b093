import { readFileSync } from "node:fs";
import { createTopology } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { allForgeryCounts, forgeryCountsBlock, renderForgeryCounts } from "./testing/forgery-counts.ts";
import { credentialPermissions } from "./testing/forgery-world.ts";
import { newNkeyUser } from "./testing/nkey-test-users.ts";

/**
 * The figures docs/security-model.md quotes for the NATS forgery tests are what the test
 * publishes today: computed from the rendered permissions and the forgery lists the test uses.
 * A new event type or permission changes them; then run
 * `npx tsx infra/nats/testing/write-forgery-counts.ts`.
 */
const topology = createTopology();
const counts = allForgeryCounts(topology, (kind) =>
  credentialPermissions(topology, kind, newNkeyUser().nkey),
);

describe("the forgery counts in docs/security-model.md", () => {
  it("are the counts of the permissions and forgeries as they are now", () => {
    const document = readFileSync(new URL("../../docs/security-model.md", import.meta.url), "utf8");
    expect(forgeryCountsBlock(document)).toBe(renderForgeryCounts(counts));
  });

  it("count something for every kind that publishes events, and nothing beyond what it may", () => {
    expect(counts.agent.forgeries).toBeGreaterThan(0);
    expect(counts.authz.forgeries).toBeGreaterThan(counts.agent.forgeries);
    // The projection, gateway and sync publish on no stream the projection applies.
    for (const kind of ["projection", "gateway", "sync"] as const) expect(counts[kind].eventSubjects).toBe(0);
  });
});
