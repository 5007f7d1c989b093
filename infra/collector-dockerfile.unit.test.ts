import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * infra/collector.Dockerfile cannot be built here (no Docker daemon on the test machines), so
 * what makes it work is checked as text: `npm ci` needs the manifest of every workspace the
 * lock file names, and the commit reaches the collector as `KASMAP_COMMIT` (issue 11).
 */
const root = new URL("../", import.meta.url);
const dockerfile = readFileSync(new URL("infra/collector.Dockerfile", root), "utf8");
const instructions = dockerfile.split("\n").filter((line) => !line.startsWith("#") && line.trim() !== "");

function workspaceManifests(): string[] {
  return ["libs", "services"].flatMap((folder) =>
    readdirSync(new URL(`${folder}/`, root), { withFileTypes: true })
      .filter(
        (entry) => entry.isDirectory() && existsSync(new URL(`${folder}/${entry.name}/package.json`, root)),
      )
      .map((entry) => `${folder}/${entry.name}/package.json`),
  );
}

describe("infra/collector.Dockerfile", () => {
  it("copies the manifest of every workspace before `npm ci`, and nothing that does not exist", () => {
    const npmCi = instructions.findIndex((line) => line.startsWith("RUN npm ci"));
    const copied = instructions
      .slice(0, npmCi)
      .filter((line) => line.startsWith("COPY ") && line.includes("/package.json"))
      .map((line) => line.split(/\s+/)[1]);
    expect(npmCi).toBeGreaterThan(0);
    expect(copied.sort()).toEqual(workspaceManifests().sort());
  });

  it("turns the KASMAP_COMMIT build argument into the collector's environment", () => {
    const argument = instructions.findIndex((line) => /^ARG KASMAP_COMMIT(=|$)/.test(line));
    const environment = instructions.findIndex((line) =>
      /^ENV KASMAP_COMMIT=\$\{KASMAP_COMMIT\}$/.test(line),
    );
    expect(argument).toBeGreaterThanOrEqual(0);
    expect(environment).toBeGreaterThan(argument);
    expect(dockerfile).toContain('--build-arg KASMAP_COMMIT="$(git rev-parse HEAD)"');
  });
});
