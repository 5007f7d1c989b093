import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { LineWriter } from "./line-writer.ts";

/** A pipe's far end: takes each chunk after `delayMs`, records the chunks and its largest backlog. */
class SlowSink extends Writable {
  readonly chunks: string[] = [];
  largestBacklog = 0;

  constructor(private readonly delayMs: number) {
    super({ highWaterMark: 1024, decodeStrings: false });
  }

  override _write(chunk: string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.largestBacklog = Math.max(this.largestBacklog, this.writableLength);
    setTimeout(done, this.delayMs);
  }
}

const lines = (count: number) =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ seq: i + 1, note: "x".repeat(i % 97) }));

describe("LineWriter", () => {
  it("writes every line in order, many lines to a chunk, none over the chunk size", async () => {
    const sink = new SlowSink(0);
    const writer = new LineWriter(sink, { maxChunkChars: 4096, maxDelayMs: 1_000 });
    const sent = lines(2_000);
    for (const line of sent) await writer.write(line);
    await writer.end();
    expect(sink.chunks.join("")).toBe(`${sent.join("\n")}\n`);
    expect(sink.chunks.length).toBeLessThan(sent.length / 10);
    const longestLine = Math.max(...sent.map((line) => line.length + 1));
    for (const chunk of sink.chunks) expect(chunk.length).toBeLessThan(4096 + longestLine);
  });

  it("waits while the stream drains: a slow reader never has more than a chunk beyond its buffer", async () => {
    const sink = new SlowSink(1);
    const writer = new LineWriter(sink, { maxChunkChars: 2048, maxDelayMs: 1_000 });
    const sent = lines(600);
    for (const line of sent) await writer.write(line);
    await writer.end();
    await new Promise<void>((resolve) => sink.end(resolve));
    expect(sink.chunks.join("")).toBe(`${sent.join("\n")}\n`);
    expect(sink.largestBacklog).toBeLessThanOrEqual(1024 + 2048 + 200);
  });

  it("writes a lone line once it has waited maxDelayMs, without another write or the end", async () => {
    const sink = new SlowSink(0);
    const writer = new LineWriter(sink, { maxChunkChars: 4096, maxDelayMs: 20 });
    await writer.write('{"seq":1}');
    expect(sink.chunks).toEqual([]);
    await sleep(100);
    expect(sink.chunks).toEqual(['{"seq":1}\n']);
    await writer.end();
    expect(sink.chunks).toEqual(['{"seq":1}\n']);
  });
});
