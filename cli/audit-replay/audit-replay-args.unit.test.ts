import { describe, expect, it } from "vitest";
import { parseReplayArgs, typeSelected, UsageError } from "./audit-replay-args.ts";

describe("parseReplayArgs", () => {
  it("reads a time window with agent, types and streams", () => {
    expect(
      parseReplayArgs([
        "--since",
        "2026-11-01T00:00:00Z",
        "--until",
        "2026-11-02T00:00:00+01:00",
        "--agent",
        "5",
        "--types",
        "cluster.snapshot, authz.changed",
        "--streams",
        "cluster,authz",
      ]),
    ).toEqual({
      start: { kind: "time", since: "2026-11-01T00:00:00.000Z" },
      until: "2026-11-01T23:00:00.000Z",
      agentId: 5,
      types: ["cluster.snapshot", "authz.changed"],
      streams: ["cluster", "authz"],
    });
  });

  it("reads a sequence start and defaults to every audit stream", () => {
    expect(parseReplayArgs(["--from-seq", "42"])).toMatchObject({
      start: { kind: "sequence", fromSeq: 42 },
      until: null,
      agentId: null,
      types: [],
      streams: ["registry", "authz", "cluster", "alerts"],
    });
  });

  it.each([
    [[]],
    [["--since", "2026-11-01T00:00:00Z", "--from-seq", "1"]],
    [["--since", "yesterday"]],
    [["--from-seq", "0"]],
    [["--since", "2026-11-01T00:00:00Z", "--agent", "x"]],
    [["--since", "2026-11-01T00:00:00Z", "--streams", "heartbeat"]],
    [["--since", "2026-11-01T00:00:00Z", "--bogus"]],
  ])("refuses %j", (argv) => {
    expect(() => parseReplayArgs(argv)).toThrow(UsageError);
  });
});

describe("typeSelected", () => {
  it("matches full and short event types, and everything without --types", () => {
    expect(typeSelected([], "io.kasmap.cluster.snapshot.v1")).toBe(true);
    expect(typeSelected(["cluster.snapshot"], "io.kasmap.cluster.snapshot.v1")).toBe(true);
    expect(typeSelected(["io.kasmap.authz.changed.v1"], "io.kasmap.authz.changed.v1")).toBe(true);
    expect(typeSelected(["cluster.snapshot"], "io.kasmap.authz.changed.v1")).toBe(false);
  });
});
