/**
 * The baseline of the HTTP read benches in a process of its own: bare fastify answering every
 * GET with one fixed JSON body (the ceiling for any handler), on the same footing as a gateway
 * process. The body comes from the file `BENCH_BODY_FILE`; prints `{"url":…}` when listening and
 * runs until its stdin closes.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import Fastify from "fastify";
import { type BenchProcess, startBenchProcess, untilStdinCloses } from "./bench-process.ts";

export function startFixedBodyProcess(bodyFile: string): Promise<BenchProcess<{ url: string }>> {
  return startBenchProcess(fileURLToPath(import.meta.url), { env: { BENCH_BODY_FILE: bodyFile } });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const body = readFileSync(process.env.BENCH_BODY_FILE ?? "", "utf8");
  const app = Fastify();
  app.get("/*", async (_request, reply) => reply.header("content-type", "application/json").send(body));
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  await untilStdinCloses();
  await app.close();
  process.exit(0);
}
