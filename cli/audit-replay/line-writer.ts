import { once } from "node:events";
import type { Writable } from "node:stream";

export type LineWriterOptions = {
  /** A chunk is written once its lines reach this many characters. */
  maxChunkChars: number;
  /** A line waits at most this long for others before it is written. */
  maxDelayMs: number;
};

const DEFAULT_OPTIONS: LineWriterOptions = { maxChunkChars: 64 * 1024, maxDelayMs: 100 };

/**
 * Lines to a stream in chunks of up to `maxChunkChars`: stdout to a pipe is written
 * synchronously on Linux, one system call per `write`, which cost the replay more than reading
 * and checking each event did. A line never waits longer than `maxDelayMs` (a sparse replay,
 * `--agent 5` over a long window, still prints as it goes), and `write` waits while the stream
 * asks to drain, so a slow reader holds the replay back instead of filling memory.
 */
export class LineWriter {
  private readonly options: LineWriterOptions;
  private pending: string[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: Writable,
    options: Partial<LineWriterOptions> = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
  }

  /** Queues `line` (without its newline); resolves when the stream may take more. */
  async write(line: string): Promise<void> {
    if (this.out.writableNeedDrain) await once(this.out, "drain");
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    if (this.pendingChars >= this.options.maxChunkChars) this.writeChunk();
    else this.timer ??= setTimeout(() => this.writeChunk(), this.options.maxDelayMs);
  }

  /** Writes what is queued; resolves once the stream no longer asks to drain. */
  async end(): Promise<void> {
    this.writeChunk();
    if (this.out.writableNeedDrain) await once(this.out, "drain");
  }

  private writeChunk(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const chunk = `${this.pending.join("\n")}\n`;
    this.pending = [];
    this.pendingChars = 0;
    this.out.write(chunk);
  }
}
