#!/usr/bin/env node
// Runs kasmap-verify's TypeScript sources through tsx's loader (no build step).
import { register } from "tsx/esm/api";

register();
const { runVerifyCli, EXIT_CODES } = await import("./kasmap-verify.ts");
const { runService } = await import("@kasmap/runtime");
// runVerifyCli answers every outcome with its own exit code; anything it let through is an error (2).
await runService({
  name: "kasmap-verify",
  failedExitCode: EXIT_CODES.error,
  config: () => process.argv.slice(2),
  run: (argv) =>
    runVerifyCli(argv, process.env, {
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
    }),
});
