#!/usr/bin/env node
// Runs kasmap-verify's TypeScript sources through tsx's loader (no build step).
import { register } from "tsx/esm/api";

register();
const { runVerifyCli } = await import("./kasmap-verify.ts");
process.exitCode = await runVerifyCli(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
