import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildKustomization, type ManifestObject } from "./kubernetes/testing/build-kustomization.ts";
import { kubernetesPath } from "./kubernetes/testing/kustomizations.ts";

const repository = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const dockerfile = (name: string) => readFileSync(repository(`infra/${name}`), "utf8");

/** The npm workspaces (root package.json `workspaces`, each `dir/*`), as `libs/bus`, …. */
function workspaces(): string[] {
  const { workspaces: patterns } = JSON.parse(readFileSync(repository("package.json"), "utf8")) as {
    workspaces: string[];
  };
  return patterns.flatMap((pattern) => {
    const parent = pattern.replace(/\/\*$/, "");
    return readdirSync(repository(parent), { withFileTypes: true })
      .filter(
        (entry) => entry.isDirectory() && existsSync(repository(`${parent}/${entry.name}/package.json`)),
      )
      .map((entry) => `${parent}/${entry.name}`);
  });
}

/** The workspaces whose package.json a Dockerfile copies before `npm ci`. */
function copiedManifests(text: string): string[] {
  const beforeInstall = text.slice(0, text.indexOf("RUN npm ci"));
  return [...beforeInstall.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map((match) => match[1] as string);
}

type Container = { image: string; args?: string[] };
const containerOf = (workload: ManifestObject) =>
  (workload.spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0] as Container;

describe.each(["collector.Dockerfile", "server.Dockerfile"])("infra/%s", (name) => {
  it("copies every workspace's package.json before npm ci, so npm links each of them", () => {
    expect(copiedManifests(dockerfile(name)).sort()).toEqual(workspaces().sort());
  });
});

describe("the server image", () => {
  const deployments = buildKustomization(kubernetesPath("overlays/production-gitlab")).filter(
    (object) => object.kind === "Deployment",
  );

  it("runs every server-side Deployment, each on its service's main.ts", () => {
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual([
      "kasmap-authz",
      "kasmap-gateway",
      "kasmap-gitlab-sync",
      "kasmap-projection",
    ]);
    for (const deployment of deployments) {
      const container = containerOf(deployment);
      expect(container.image).toMatch(/^kasmap\/server:/);
      const service = deployment.metadata.name.replace(/^kasmap-/, "");
      expect(container.args).toEqual([`services/${service}/src/main.ts`]);
      expect(existsSync(repository(container.args?.[0] ?? "")), container.args?.[0]).toBe(true);
    }
    expect(dockerfile("server.Dockerfile")).toMatch(/^COPY services services$/m);
  });

  it("is distinct from the collector's, which the collector Deployment runs", () => {
    const [collector] = buildKustomization(kubernetesPath("collector")).filter(
      (o) => o.kind === "Deployment",
    );
    expect(containerOf(collector as ManifestObject).image).toMatch(/^kasmap\/collector:/);
  });
});
