import { createHash } from "node:crypto";
import {
  DEAD_LETTER_HEAD_BYTES,
  DEAD_LETTER_MORE_SEQS,
  DeadLetterRecordSchema,
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
});

describe("a summary dead letter", () => {
  it("lists the further sequences and stays under the dead-letter stream's message limit at its largest", () => {
    const body = new Uint8Array(1024 * 1024).fill(120);
    const moreSeqs = Array.from({ length: DEAD_LETTER_MORE_SEQS }, (_, i) => Number.MAX_SAFE_INTEGER - i);
    const record = DeadLetterRecordSchema.parse(
      deadLetterRecord({ ...letter(body, "é\n".repeat(100_000)), moreSeqs }),
    );
    expect(record.more_seqs).toEqual(moreSeqs);
    expect(deadLetterCount(record)).toBe(DEAD_LETTER_MORE_SEQS + 1);
    expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThan(MAX_DEAD_LETTER_BYTES);
  });

  it("is a dead letter of one message without further sequences", () => {
    const record = deadLetterRecord({ ...letter(new Uint8Array([1])), moreSeqs: [] });
    expect(record).not.toHaveProperty("more_seqs");
    expect(deadLetterCount(record)).toBe(1);
  });
});
