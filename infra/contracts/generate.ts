import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATED_DIR, generatedContractFiles } from "./generated-files.ts";

/**
 * `npm run contracts:generate`: writes `libs/contracts/generated/` from the zod schemas. Event
 * schema files no longer generated (a removed event type) are deleted, so the folder holds
 * exactly what the contracts define.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const files = generatedContractFiles();
const eventsDir = join(root, GENERATED_DIR, "events");
mkdirSync(eventsDir, { recursive: true });
for (const name of readdirSync(eventsDir)) {
  if (!files.has(`${GENERATED_DIR}/events/${name}`)) rmSync(join(eventsDir, name));
}
for (const [path, content] of files) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}
// Formatted as the repository's formatter wants, so `npm run lint` passes on the outputs; the
// up-to-date test compares parsed JSON, not text.
const biome = spawnSync(join(root, "node_modules/.bin/biome"), ["format", "--write", GENERATED_DIR], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});
if (biome.status !== 0) process.exitCode = 1;
process.stdout.write(`wrote ${files.size} files to ${GENERATED_DIR}\n`);
