import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { PROBE_PATHS } from "@kasmap/gateway-service";
import { describe, expect, it } from "vitest";
import {
  buildKustomization,
  type ManifestObject,
  manifestObjectId,
  readManifestDocuments,
} from "./testing/build-kustomization.ts";
import { CnpgClusterSchema } from "./testing/cnpg-cluster-schema.ts";
import { containerEnv } from "./testing/container-env.ts";
import { kubernetesObjectProblems } from "./testing/kubernetes-object-problems.ts";
import { KUSTOMIZATIONS, kubernetesPath } from "./testing/kustomizations.ts";

const kubernetesDirectory = kubernetesPath(".");

function manifestFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "testing" ? [] : manifestFiles(path);
    return entry.name.endsWith(".yaml") && entry.name !== "kustomization.yaml" ? [path] : [];
  });
}

/** Problems of one manifest object: the Kubernetes API's schema, or CloudNativePG's for its Cluster. */
function objectProblems(object: unknown): string[] {
  const candidate = object as { apiVersion?: unknown };
  if (typeof candidate.apiVersion === "string" && candidate.apiVersion.startsWith("postgresql.cnpg.io/")) {
    const parsed = CnpgClusterSchema.safeParse(object);
    return parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  }
  return kubernetesObjectProblems(object);
}

type PodSpec = {
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
  volumes?: { name: string }[];
};
type Container = {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string }[];
};
type Workload = ManifestObject & {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

const production = buildKustomization(kubernetesPath("overlays/production-gitlab"));
const collector = buildKustomization(kubernetesPath("collector"));
const deployments = [...production, ...collector].filter(
  (object): object is Workload => object.kind === "Deployment",
);
const byName = (objects: ManifestObject[], kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);

describe.each(manifestFiles(kubernetesDirectory).map((file) => relative(kubernetesDirectory, file)))(
  "infra/kubernetes/%s",
  (file) => {
    it("holds only objects valid against their kind's schema", () => {
      const documents = readManifestDocuments(kubernetesPath(file));
      expect(documents.length).toBeGreaterThan(0);
      for (const document of documents) expect(objectProblems(document)).toEqual([]);
    });
  },
);

describe.each(KUSTOMIZATIONS)("kustomization %s", (directory) => {
  it("builds into valid objects, each declared once", () => {
    const objects = buildKustomization(kubernetesPath(directory));
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) expect(objectProblems(object), manifestObjectId(object)).toEqual([]);
  });
});

describe("the schema check", () => {
  const gateway = () => structuredClone(byName(production, "Deployment", "kasmap-gateway")) as Workload;

  it("refuses an unknown field, naming its path", () => {
    const object = gateway();
    Object.assign(object.spec.template.spec.containers[0] as object, {
      envFrom: [],
      imagePullPolice: "Always",
    });
    expect(objectProblems(object)).toEqual([
      "spec.template.spec.containers[0].imagePullPolice: unknown field in V1Container",
    ]);
  });

  it("refuses a wrong type, a missing required field and a kind under the wrong group", () => {
    const object = gateway();
    Object.assign(object.spec, { replicas: "3" });
    delete (object.spec.template.spec.containers[0] as Partial<Container>).name;
    expect(objectProblems(object)).toEqual([
      "spec.replicas: expected a number",
      "spec.template.spec.containers[0].name: required in V1Container",
    ]);
    const valid = gateway();
    expect(objectProblems({ ...valid, apiVersion: "v1" })).toEqual(["no schema for v1 Deployment"]);
    expect(objectProblems({ ...valid, spec: { ...valid.spec, replicas: 1.5 } })).toEqual([
      "spec.replicas: expected an integer",
    ]);
  });

  it("refuses a CloudNativePG Cluster with a misspelt or missing field", () => {
    const cluster = structuredClone(byName(production, "Cluster", "kasmap-db")) as ManifestObject & {
      spec: Record<string, unknown>;
    };
    expect(objectProblems(cluster)).toEqual([]);
    const { instances, ...withoutInstances } = cluster.spec;
    expect(instances).toBe(3);
    expect(objectProblems({ ...cluster, spec: { ...withoutInstances, instance: 3 } })).toEqual([
      "spec.instances: Invalid input: expected number, received undefined",
      'spec: Unrecognized key: "instance"',
    ]);
  });
});

describe.each(deployments.map((deployment) => [deployment.metadata.name, deployment] as const))(
  "Deployment %s",
  (_name, deployment) => {
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    if (!container) throw new Error("no container");

    it("runs as non-root on a read-only root filesystem, without privileges", () => {
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
    });

    it("asks for CPU and memory and caps memory", () => {
      expect(container.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.resources?.limits?.memory).toEqual(expect.any(String));
    });

    it("selects its own pods and mounts only volumes it declares", () => {
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      const volumes = (pod.volumes ?? []).map((volume) => volume.name);
      for (const mount of container.volumeMounts ?? []) expect(volumes).toContain(mount.name);
    });

    it("names files that lie in its mounts", () => {
      const mounts = (container.volumeMounts ?? []).map((mount) => `${mount.mountPath}/`);
      for (const variable of containerEnv(deployment).filter((v) => v.name.endsWith("_FILE"))) {
        expect(
          mounts.some((mount) => variable.value?.startsWith(mount)),
          variable.name,
        ).toBe(true);
      }
    });
  },
);

describe("overlays/production", () => {
  it("runs several projection and gateway replicas, one authz and one GitLab sync", () => {
    const replicas = (name: string) => (byName(production, "Deployment", name) as Workload).spec.replicas;
    expect(replicas("kasmap-projection")).toBeGreaterThanOrEqual(2);
    expect(replicas("kasmap-gateway")).toBeGreaterThanOrEqual(2);
    expect(replicas("kasmap-authz")).toBe(1);
    expect(replicas("kasmap-gitlab-sync")).toBe(1);
  });

  it("keeps one replica of each multi-replica Deployment up through voluntary disruptions", () => {
    const scaledOut = deployments.filter((deployment) => (deployment.spec.replicas ?? 1) > 1);
    expect(scaledOut.length).toBeGreaterThan(0);
    for (const deployment of scaledOut) {
      const budget = byName(production, "PodDisruptionBudget", deployment.metadata.name) as
        | (ManifestObject & {
            spec: { maxUnavailable?: number; selector: { matchLabels: Record<string, string> } };
          })
        | undefined;
      expect(budget?.spec.selector.matchLabels, deployment.metadata.name).toEqual(
        deployment.spec.selector.matchLabels,
      );
      expect(budget?.spec.maxUnavailable).toBeLessThan(deployment.spec.replicas ?? 1);
    }
  });

  it("probes the gateway on the health endpoints it serves, on the port it listens on", () => {
    const gateway = byName(production, "Deployment", "kasmap-gateway") as Workload;
    const [container] = gateway.spec.template.spec.containers;
    const port = container?.ports?.find((candidate) => candidate.name === "http");
    const env = Object.fromEntries(containerEnv(gateway).map((variable) => [variable.name, variable.value]));
    expect(String(port?.containerPort)).toBe(env.KASMAP_HTTP_PORT);
    expect(env.KASMAP_HTTP_HOST).toBe("0.0.0.0");
    expect(container?.livenessProbe?.httpGet).toEqual({ path: PROBE_PATHS.liveness, port: "http" });
    expect(container?.readinessProbe?.httpGet).toEqual({ path: PROBE_PATHS.readiness, port: "http" });
    const service = byName(production, "Service", "kasmap-gateway") as ManifestObject & {
      spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
    };
    expect(gateway.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports.map((servicePort) => servicePort.targetPort)).toEqual(["http"]);
  });

  it("points the collector at the services' NATS and topology root", () => {
    const config = byName(production, "ConfigMap", "kasmap-config") as ManifestObject & {
      data: Record<string, string>;
    };
    const [collectorDeployment] = collector.filter((object) => object.kind === "Deployment");
    const env = Object.fromEntries(
      containerEnv(collectorDeployment as ManifestObject).map((variable) => [variable.name, variable.value]),
    );
    expect(env.KASMAP_TOPOLOGY_ROOT).toBe(config.data.KASMAP_TOPOLOGY_ROOT);
    expect(env.NATS_URL).toBe(config.data.NATS_URL);
  });

  it("connects every database user to the CloudNativePG cluster's primary through the operator's Secret", () => {
    const cluster = CnpgClusterSchema.parse(byName(production, "Cluster", "kasmap-db"));
    expect(cluster.spec.instances).toBe(3);
    expect(cluster.spec.bootstrap?.initdb).toMatchObject({ database: "kasmap", owner: "kasmap" });
    const databaseUsers = deployments.filter((deployment) =>
      containerEnv(deployment).some((variable) => variable.name === "DATABASE_URL"),
    );
    expect(databaseUsers.map((deployment) => deployment.metadata.name).sort()).toEqual([
      "kasmap-authz",
      "kasmap-gateway",
      "kasmap-projection",
    ]);
    for (const deployment of databaseUsers) {
      const databaseUrl = containerEnv(deployment).find((variable) => variable.name === "DATABASE_URL");
      expect(databaseUrl?.valueFrom?.secretKeyRef).toEqual({
        name: `${cluster.metadata.name}-app`,
        key: "uri",
      });
    }
  });
});
