import type { Logger } from "@kasmap/logging";
import { describe, expect, it } from "vitest";
import { floodReport } from "./flood-report.ts";

function recordingLogger() {
  const lines: { fields: unknown; message: string }[] = [];
  const logger = { warn: (fields: unknown, message: string) => lines.push({ fields, message }) };
  return { logger: logger as unknown as Logger, lines };
}

describe("floodReport", () => {
  it("names the flooding senders at once, then at most once an interval, with the refusals since", () => {
    const { logger, lines } = recordingLogger();
    let time = 0;
    const report = floodReport(logger, 60_000, () => time);
    report.note("UAAA");
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toEqual({ senders: ["UAAA"], refused: 1 });
    for (let i = 0; i < 1_000; i++) {
      time += 10;
      report.note(i % 2 === 0 ? "UAAA" : "UBBB");
    }
    expect(lines).toHaveLength(1);
    time = 60_000;
    report.note("UCCC");
    expect(lines).toHaveLength(2);
    expect(lines[1]?.fields).toEqual({ senders: ["UAAA", "UBBB", "UCCC"], refused: 1_001 });
  });

  it("names at most 10 senders in a line, and counts every refusal", () => {
    const { logger, lines } = recordingLogger();
    let time = 0;
    const report = floodReport(logger, 60_000, () => time);
    report.note("U0");
    for (let i = 1; i <= 50; i++) report.note(`U${i}`);
    time = 60_000;
    report.note("ULAST");
    const fields = lines[1]?.fields as { senders: string[]; refused: number };
    expect(fields.senders).toHaveLength(10);
    expect(fields.refused).toBe(51);
  });
});
