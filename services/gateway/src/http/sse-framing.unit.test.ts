import { describe, expect, it } from "vitest";
import {
  parseLastEventId,
  sseCommentFrame,
  sseEventFrame,
  streamPositionId,
  withoutTokenDigests,
} from "./sse-framing.ts";

describe("SSE framing", () => {
  it("writes event, id and data lines ended by a blank line", () => {
    const frame = sseEventFrame({
      event: "io.kasmap.cluster.snapshot.v1",
      id: "K_CLUSTER:7",
      data: '{"a":1}',
    });
    expect(frame).toBe('event: io.kasmap.cluster.snapshot.v1\nid: K_CLUSTER:7\ndata: {"a":1}\n\n');
  });

  it("splits multi-line data into several data lines and keeps other fields on one line", () => {
    expect(sseEventFrame({ event: "a\nb", id: "x", data: "one\ntwo\r\nthree" })).toBe(
      "event: a b\nid: x\ndata: one\ndata: two\ndata: three\n\n",
    );
  });

  it("writes comments for keep-alive", () => {
    expect(sseCommentFrame("keep-alive")).toBe(": keep-alive\n\n");
  });

  it.each([
    ["KASMAP_CLUSTER:42", { stream: "KASMAP_CLUSTER", seq: 42 }],
    [" KASMAP_AUTHZ:1 ", { stream: "KASMAP_AUTHZ", seq: 1 }],
    [["KASMAP_REGISTRY:3", "ignored"], { stream: "KASMAP_REGISTRY", seq: 3 }],
    [undefined, null],
    ["", null],
    ["KASMAP_CLUSTER:0", null],
    ["KASMAP_CLUSTER:-1", null],
    ["no-sequence", null],
    ["a.b:1", null],
  ] as const)("reads Last-Event-ID %j", (header, expected) => {
    const value = typeof header === "string" || header === undefined ? header : [...header];
    expect(parseLastEventId(value)).toEqual(expected);
  });

  it("round-trips a position through the id", () => {
    expect(parseLastEventId(streamPositionId({ stream: "T1_CLUSTER", seq: 9 }))).toEqual({
      stream: "T1_CLUSTER",
      seq: 9,
    });
  });

  it("strips token digests at any depth and keeps everything else", () => {
    const event = {
      data: { token: { id: 1, token_sha256: "ab", name: "t" }, list: [{ token_sha256: "cd", x: 1 }] },
    };
    expect(withoutTokenDigests(event)).toEqual({ data: { token: { id: 1, name: "t" }, list: [{ x: 1 }] } });
  });
});
