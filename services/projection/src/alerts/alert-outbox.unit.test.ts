import { createTopology } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { alertOutboxRetentionMs } from "./alert-outbox.ts";

const DAY_MS = 24 * 60 * 60 * 1_000;

describe("alertOutboxRetentionMs", () => {
  it("is the streams' longest max age (the audit retention) and a day", () => {
    expect(alertOutboxRetentionMs(createTopology("alerts_retention"))).toBe(401 * DAY_MS);
    expect(alertOutboxRetentionMs(createTopology("alerts_retention", 30))).toBe(31 * DAY_MS);
  });

  it("is infinite when a stream keeps its messages forever", () => {
    const topology = createTopology("alerts_retention");
    const forever = { ...topology, streams: topology.streams.map((s) => ({ ...s, maxAgeNs: 0 })) };
    expect(alertOutboxRetentionMs(forever)).toBe(Number.POSITIVE_INFINITY);
  });
});
