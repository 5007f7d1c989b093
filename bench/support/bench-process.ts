import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/** A bench's helper process: what it printed on its first line, and how to end it. */
export type BenchProcess<T> = { info: T; pid: number; stop(): Promise<void> };

/**
 * Runs `script` (a TypeScript file, through tsx) in a Node process of its own, so the server it
 * holds never shares an event loop with the bench or the services under test. The script prints
 * one JSON line on stdout when it is ready and runs until its stdin closes (the bench ending, or
 * dying, ends it). `nodeOptions` go before the script, e.g. `--cpu-prof`; what else the process
 * prints on stdout (V8's `--log-deopt` bailouts, say) goes to the bench's stderr.
 */
export async function startBenchProcess<T>(
  script: string,
  options: { env?: Record<string, string>; nodeOptions?: readonly string[] } = {},
): Promise<BenchProcess<T>> {
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), "--import", "tsx", script], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...options.env },
  });
  const exited = once(child, "exit");
  const ready = new Promise<[string]>((resolve) => {
    let seen = false;
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!seen && line.startsWith("{")) {
        seen = true;
        resolve([line]);
      } else process.stderr.write(`${line}\n`);
    });
  });
  const [line] = await Promise.race([
    ready,
    exited.then(([code]) => {
      throw new Error(`${script} exited (${String(code)}) before it was ready`);
    }),
  ]);
  return {
    info: JSON.parse(line) as T,
    pid: child.pid ?? 0,
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

/** In a bench process: waits until the bench closes stdin. */
export async function untilStdinCloses(): Promise<void> {
  process.stdin.resume();
  await once(process.stdin, "end");
}
