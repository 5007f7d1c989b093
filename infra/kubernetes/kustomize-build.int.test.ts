import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildKustomization, type ManifestObject, manifestObjectId } from "./testing/build-kustomization.ts";
import { KUSTOMIZATIONS, kubernetesPath } from "./testing/kustomizations.ts";

const run = promisify(execFile);

/**
 * The unit tests build the kustomizations with testing/build-kustomization.ts; this checks that
 * build against the real one, `kubectl kustomize` (Kustomize v5 inside kubectl, as
 * libs/kube-simulator's kubectl test runs it), so what the tests validate is what
 * `kubectl apply -k` applies.
 */
async function kubectlKustomize(directory: string): Promise<Map<string, ManifestObject>> {
  const { stdout } = await run("/usr/bin/kubectl", ["kustomize", kubernetesPath(directory)], {
    timeout: 60_000,
  });
  const objects = parseAllDocuments(stdout, { version: "1.1" }).map(
    (document) => document.toJS() as ManifestObject,
  );
  return new Map(objects.map((object) => [manifestObjectId(object), object]));
}

describe.each(KUSTOMIZATIONS)("kustomization %s", (directory) => {
  it("builds the same objects as kubectl kustomize", async () => {
    const ours = new Map(
      buildKustomization(kubernetesPath(directory)).map((object) => [manifestObjectId(object), object]),
    );
    const theirs = await kubectlKustomize(directory);
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [id, object] of ours) expect(object, id).toEqual(theirs.get(id));
  });
});
