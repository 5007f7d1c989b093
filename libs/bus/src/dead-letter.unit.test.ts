import { createHash } from "node:crypto";
import {
  DEAD_LETTER_HEAD_BYTES,
  DEAD_LETTER_SEQ_RANGES,
  DeadLetterRecordSchema,
  deadLetterStandsFor,
  MAX_DEAD_LETTER_BYTES,
} from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { deadLetterCount, deadLetterRecord } from "./dead-letter.ts";

const letter = (payload: Uint8Array, reason = "not JSON") => ({
  stream: "KASMAP_CLUSTER",
  seq: 12,
  subject: "kasmap.cluster.4.snapshot",
  consumer: "projection-cluster",
  reason,
  storedAt: new Date("2026-01-01T00:00:00.000Z"),
  payload,
});

describe("deadLetterRecord", () => {
  it("keeps a small body whole, with its digest", () => {
    const body = new TextEncoder().encode("{");
    const record = DeadLetterRecordSchema.parse(deadLetterRecord(letter(body)));
    expect(record).toMatchObject({ size: 1, truncated: false, head_base64: "ew==", seq: 12 });
    expect(record.sha256).toBe(createHash("sha256").update(body).digest("hex"));
  });

  it("stays a few KiB for a body of a whole max_payload and a huge multi-line reason", () => {
    const body = new Uint8Array(1024 * 1024).fill(120);
    const record = DeadLetterRecordSchema.parse(deadLetterRecord(letter(body, "line\n".repeat(100_000))));
    expect(record.size).toBe(body.byteLength);
    expect(record.truncated).toBe(true);
    expect(Buffer.from(record.head_base64, "base64").byteLength).toBe(DEAD_LETTER_HEAD_BYTES);
    expect(record.reason).not.toContain("\n");
    expect(JSON.stringify(record).length).toBeLessThan(9 * 1024);
  });

  it("keeps no head when told so, saying why, and is still read by a reader that knows no head_omitted", () => {
    const body = new Uint8Array(4096).fill(120);
    const record = DeadLetterRecordSchema.parse(deadLetterRecord({ ...letter(body), headOmitted: "budget" }));
    expect(record).toMatchObject({
      reason: "not JSON",
      seq: 12,
      subject: "kasmap.cluster.4.snapshot",
      size: 4096,
      sha256: createHash("sha256").update(body).digest("hex"),
      head_base64: "",
      truncated: true,
      head_omitted: "budget",
    });
    expect(JSON.stringify(record).length).toBeLessThan(512);
    // The record before head_omitted: every field it required is still there, of its type.
    const older = DeadLetterRecordSchema.omit({ head_omitted: true }).strip();
    expect(older.parse(record)).toMatchObject({ head_base64: "", truncated: true });
    expect(DeadLetterRecordSchema.parse(deadLetterRecord(letter(body)))).not.toHaveProperty("head_omitted");
  });
});

describe("a summary dead letter", () => {
  it("lists its ranges and stays under the dead-letter stream's message limit at its largest, headers included", () => {
    const body = new Uint8Array(1024 * 1024).fill(120);
    const ranges = Array.from({ length: DEAD_LETTER_SEQ_RANGES }, (_, i) => ({
      first: Number.MAX_SAFE_INTEGER - 2 * i - 1,
      last: Number.MAX_SAFE_INTEGER - 2 * i,
    })).reverse();
    const record = DeadLetterRecordSchema.parse(
      deadLetterRecord({
        ...letter(body, "é\n".repeat(100_000)),
        subject: "é".repeat(10_000),
        writer: "é".repeat(10_000),
        summarized: { ranges, count: Number.MAX_SAFE_INTEGER, exact: false },
      }),
    );
    expect(record.seq_ranges).toEqual(ranges);
    expect(record).toMatchObject({ more_count: Number.MAX_SAFE_INTEGER, seq_ranges_exact: false });
    // The reason and subject are repeated in headers.
    const headers = Buffer.byteLength(record.reason) + Buffer.byteLength(record.subject) + 512;
    expect(Buffer.byteLength(JSON.stringify(record)) + headers).toBeLessThan(MAX_DEAD_LETTER_BYTES);
  });

  it("counts its first message and those of its ranges (or, written before them, of more_seqs)", () => {
    const summarized = { ranges: [{ first: 20, last: 90 }], count: 7, exact: true };
    expect(deadLetterCount(deadLetterRecord({ ...letter(new Uint8Array([1])), summarized }))).toBe(8);
    expect(deadLetterCount({ more_seqs: [13, 14] })).toBe(3);
  });

  it("is a dead letter of one message without further messages, naming the writer if given", () => {
    const record = deadLetterRecord({
      ...letter(new Uint8Array([1])),
      writer: "agent 4",
      summarized: { ranges: [], count: 0, exact: true },
    });
    expect(record).not.toHaveProperty("seq_ranges");
    expect(record).not.toHaveProperty("more_count");
    expect(record.writer).toBe("agent 4");
    expect(deadLetterCount(record)).toBe(1);
  });
});

describe("deadLetterStandsFor", () => {
  const summary = DeadLetterRecordSchema.parse(
    deadLetterRecord({
      ...letter(new Uint8Array([1])),
      writer: "agent 4",
      summarized: { ranges: [{ first: 20, last: 30 }], count: 5, exact: true },
    }),
  );

  it("names its own message, and the writer's messages inside its ranges only", () => {
    expect(deadLetterStandsFor(summary, 12)).toBe(true);
    expect(deadLetterStandsFor(summary, 25, "agent 4")).toBe(true);
    expect(deadLetterStandsFor(summary, 25, "agent 5")).toBe(false);
    expect(deadLetterStandsFor(summary, 25)).toBe(false);
    expect(deadLetterStandsFor(summary, 31, "agent 4")).toBe(false);
  });

  it("reads the sequences of a summary written before ranges", () => {
    const old = DeadLetterRecordSchema.parse({
      ...deadLetterRecord(letter(new Uint8Array([1]))),
      more_seqs: [13],
    });
    expect(deadLetterStandsFor(old, 13)).toBe(true);
    expect(deadLetterCount(old)).toBe(2);
  });
});
