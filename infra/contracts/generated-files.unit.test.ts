import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GENERATED_DIR, generatedContractFiles } from "./generated-files.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const HOW_TO_FIX = "the committed contract documents are out of date: run `npm run contracts:generate`";

describe("generated contract documents", () => {
  const files = generatedContractFiles();

  it.each([...files.keys()])("%s matches the zod schemas", (path) => {
    const absolute = join(root, path);
    expect(existsSync(absolute), `${path} is missing; ${HOW_TO_FIX}`).toBe(true);
    const text = readFileSync(absolute, "utf8");
    if (path.endsWith(".md")) {
      expect(text, `${path} differs; ${HOW_TO_FIX}`).toBe(files.get(path));
      return;
    }
    const committed: unknown = JSON.parse(text);
    expect(committed, `${path} differs; ${HOW_TO_FIX}`).toEqual(JSON.parse(files.get(path) ?? "null"));
  });

  it("holds no event schema for an event type that no longer exists", () => {
    const committed = readdirSync(join(root, GENERATED_DIR, "events")).map(
      (n) => `${GENERATED_DIR}/events/${n}`,
    );
    expect(
      committed.filter((path) => !files.has(path)),
      HOW_TO_FIX,
    ).toEqual([]);
  });
});
