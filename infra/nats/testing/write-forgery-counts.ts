import { readFileSync, writeFileSync } from "node:fs";
import { createTopology } from "@kasmap/contracts";
import {
  allForgeryCounts,
  FORGERY_COUNTS_END,
  FORGERY_COUNTS_START,
  forgeryCountsBlock,
  renderForgeryCounts,
} from "./forgery-counts.ts";
import { credentialPermissions } from "./forgery-world.ts";
import { newNkeyUser } from "./nkey-test-users.ts";

/**
 * `npx tsx infra/nats/testing/write-forgery-counts.ts`: rewrites the forgery counts table in
 * docs/security-model.md (between its markers) from the permissions as rendered now.
 */
const path = new URL("../../../docs/security-model.md", import.meta.url);
const document = readFileSync(path, "utf8");
const current = forgeryCountsBlock(document);
if (current === null)
  throw new Error(`docs/security-model.md lacks ${FORGERY_COUNTS_START} … ${FORGERY_COUNTS_END}`);
const topology = createTopology();
const table = renderForgeryCounts(
  allForgeryCounts(topology, (kind) => credentialPermissions(topology, kind, newNkeyUser().nkey)),
);
const start = document.indexOf(FORGERY_COUNTS_START) + FORGERY_COUNTS_START.length;
const end = document.indexOf(FORGERY_COUNTS_END);
writeFileSync(path, `${document.slice(0, start)}\n${table}\n${document.slice(end)}`);
process.stdout.write(`${table}\n`);
