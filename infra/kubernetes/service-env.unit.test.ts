import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AuthzEnvSchema } from "@kasmap/authz-service";
import { CollectorEnvSchema } from "@kasmap/collector-service";
import { GatewayEnvSchema } from "@kasmap/gateway-service";
import { GitLabSyncEnvSchema } from "@kasmap/gitlab-sync-service";
import { ProjectionEnvSchema } from "@kasmap/projection-service";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { buildKustomization, type ManifestObject } from "./testing/build-kustomization.ts";
import { containerEnv, type EnvStubs, resolveContainerEnv } from "./testing/container-env.ts";
import { kubernetesPath } from "./testing/kustomizations.ts";

const repository = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Read by every service's schema, set by none of the Deployments: the credentials come another way. */
const NATS_CREDENTIALS_GIVEN_OTHERWISE = {
  NATS_NKEY_SEED: "the seed is a mounted Secret file (NATS_NKEY_SEED_FILE): env leaks into process listings",
  NATS_USER: "the NATS servers authenticate nkey users, not passwords",
  NATS_PASSWORD: "the NATS servers authenticate nkey users, not passwords",
  NATS_TLS_CERT_FILE: "the NATS servers do not ask clients for certificates (nkeys authenticate them)",
  NATS_TLS_KEY_FILE: "the NATS servers do not ask clients for certificates (nkeys authenticate them)",
};

/** Set ahead of the code: issue 12's NATS-cluster work declares the streams with this many replicas. */
const STREAM_REPLICAS_AHEAD = {
  KASMAP_STREAM_REPLICAS:
    "streams are R3 on the 3-node cluster (infra/nats/cluster-node-1.conf); issue 12's NATS-cluster work reads it",
};

type ServiceEnvExpectation = {
  deployment: string;
  /** A kustomization that holds the Deployment and the ConfigMap it reads. */
  kustomization: string;
  schema: z.ZodObject;
  /** Variables the schema declares that the Deployment leaves unset, and why. */
  omitted: Record<string, string>;
  /** Files that would name a variable `omitted` as unused if the service read it (`env.NAME`). */
  unusedIn?: string[];
  /** Variables the Deployment sets that the schema does not (yet) declare, and why. */
  ahead: Record<string, string>;
  /** Starts only in GitLab mode (its ConfigMap references are required). */
  gitlabModeOnly?: true;
};

const SERVICES: ServiceEnvExpectation[] = [
  {
    deployment: "kasmap-authz",
    kustomization: "base",
    schema: AuthzEnvSchema,
    omitted: NATS_CREDENTIALS_GIVEN_OTHERWISE,
    ahead: STREAM_REPLICAS_AHEAD,
  },
  {
    deployment: "kasmap-projection",
    kustomization: "base",
    schema: ProjectionEnvSchema,
    omitted: NATS_CREDENTIALS_GIVEN_OTHERWISE,
    ahead: STREAM_REPLICAS_AHEAD,
  },
  {
    deployment: "kasmap-gateway",
    kustomization: "base",
    schema: GatewayEnvSchema,
    omitted: {
      ...NATS_CREDENTIALS_GIVEN_OTHERWISE,
      // GatewayEnvSchema spreads GitLab mode's whole schema; the gateway uses none of these.
      KASMAP_GITLAB_TOKEN: "the sync service's GitLab token: the gateway never uses it, so it never holds it",
      KASMAP_GITLAB_ROOT_GROUPS: "the sync service's mirror scope; unused by the gateway",
      KASMAP_GITLAB_RECONCILE_SECONDS: "the sync service's period; unused by the gateway",
    },
    unusedIn: ["services/gateway/src/main.ts", "services/gateway/src/gateway-env.ts"],
    ahead: {
      ...STREAM_REPLICAS_AHEAD,
      DATABASE_READ_URL: "issue 12: the gateway reads from CloudNativePG's standbys (kasmap-db-ro); optional",
    },
  },
  {
    deployment: "kasmap-gitlab-sync",
    kustomization: "overlays/production-gitlab",
    schema: GitLabSyncEnvSchema,
    omitted: {
      ...NATS_CREDENTIALS_GIVEN_OTHERWISE,
      // CommonEnvSchema's database settings: the sync service keeps no state in PostgreSQL.
      DATABASE_URL: "the sync service talks to GitLab and NATS only",
      KASMAP_DB_STATEMENT_TIMEOUT_MS: "the sync service talks to GitLab and NATS only",
      KASMAP_DB_CONNECT_TIMEOUT_MS: "the sync service talks to GitLab and NATS only",
      KASMAP_GITLAB_HOOK_SECRET: "checked by the gateway, which receives the hooks",
      KASMAP_GITLAB_STREAMING_TOKEN: "checked by the gateway, which receives the audit events",
      KASMAP_GITLAB_PERMISSION_TTL_SECONDS: "the gateway's and authz's cache of GitLab's answers",
    },
    unusedIn: ["services/gitlab-sync/src/main.ts"],
    ahead: STREAM_REPLICAS_AHEAD,
    gitlabModeOnly: true,
  },
  {
    deployment: "kasmap-collector",
    kustomization: "collector",
    schema: CollectorEnvSchema,
    omitted: {
      ...NATS_CREDENTIALS_GIVEN_OTHERWISE,
      KUBECONFIG: "in a pod the collector uses the in-cluster configuration of its ServiceAccount",
      KUBERNETES_SERVICE_HOST: "set by the kubelet in every pod",
      KASMAP_COMMIT: "set by the image (infra/collector.Dockerfile, build argument KASMAP_COMMIT)",
    },
    unusedIn: [],
    ahead: {},
  },
];

/** What the operator provides: CloudNativePG's URI, tokens long enough for every schema, the downward API. */
const STUBS: EnvStubs = {
  secret: (name, key) =>
    key === "uri"
      ? `postgres://kasmap:stub@${name}.kasmap.svc:5432/kasmap`
      : `stub-${name}-${key}-0123456789abcdef`,
  field: (fieldPath) =>
    fieldPath === "status.podIP" ? "10.1.2.3" : `stub-${fieldPath.replaceAll(".", "-")}`,
};

/** GitLab mode as the operator configures it (README, "Scaling out"). */
const GITLAB_MODE_CONFIG: ManifestObject = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "kasmap-gitlab", namespace: "kasmap" },
  data: { KASMAP_GITLAB_URL: "https://gitlab.example.com", KASMAP_GITLAB_ROOT_GROUPS: "infra, platform" },
};

function deploymentOf(expectation: ServiceEnvExpectation): {
  deployment: ManifestObject;
  objects: ManifestObject[];
} {
  const objects = buildKustomization(kubernetesPath(expectation.kustomization));
  const deployment = objects.find(
    (object) => object.kind === "Deployment" && object.metadata.name === expectation.deployment,
  );
  if (!deployment) throw new Error(`${expectation.deployment} is not in ${expectation.kustomization}`);
  return { deployment, objects };
}

/** The variables the Deployment misses and the ones it sets beyond the expectation. */
function envMismatch(
  deployment: ManifestObject,
  expectation: ServiceEnvExpectation,
): { missing: string[]; unexpected: string[] } {
  const setNames = containerEnv(deployment).map((variable) => variable.name);
  const expected = new Set([
    ...Object.keys(expectation.schema.shape).filter((name) => !(name in expectation.omitted)),
    ...Object.keys(expectation.ahead),
  ]);
  const duplicates = setNames.filter((name, index) => setNames.indexOf(name) !== index);
  return {
    missing: [...expected].filter((name) => !setNames.includes(name)).sort(),
    unexpected: [...setNames.filter((name) => !expected.has(name)), ...duplicates].sort(),
  };
}

describe.each(SERVICES)("$deployment's environment", (expectation) => {
  const { deployment, objects } = deploymentOf(expectation);
  const schemaNames = Object.keys(expectation.schema.shape);

  it("sets exactly the variables its code reads, but for the documented exceptions", () => {
    expect(envMismatch(deployment, expectation)).toEqual({ missing: [], unexpected: [] });
  });

  it("documents only exceptions that still apply", () => {
    for (const name of Object.keys(expectation.omitted)) expect(schemaNames, name).toContain(name);
    for (const path of expectation.unusedIn ?? []) {
      const source = readFileSync(repository(path), "utf8");
      for (const name of Object.keys(expectation.omitted)) {
        expect(source, `${path} reads ${name}`).not.toContain(`.${name}`);
      }
    }
  });

  it("starts in GitLab mode with an environment its schema accepts", () => {
    const env = resolveContainerEnv(deployment, [...objects, GITLAB_MODE_CONFIG], STUBS);
    expect(expectation.schema.safeParse(env).error?.issues ?? []).toEqual([]);
  });
});

describe.each(SERVICES.filter((service) => !service.gitlabModeOnly))(
  "$deployment, with Kasmap's own registry",
  (expectation) => {
    it("starts with an environment its schema accepts", () => {
      const { deployment, objects } = deploymentOf(expectation);
      const env = resolveContainerEnv(deployment, objects, STUBS);
      expect(expectation.schema.safeParse(env).error?.issues ?? []).toEqual([]);
    });
  },
);

describe("the environment checks", () => {
  const gateway = SERVICES.find(
    (service) => service.deployment === "kasmap-gateway",
  ) as ServiceEnvExpectation;

  it("find a variable missing, one too many and one set twice", () => {
    const { deployment } = deploymentOf(gateway);
    const container = (
      deployment.spec as { template: { spec: { containers: { env: { name: string }[] }[] } } }
    ).template.spec.containers[0];
    if (!container) throw new Error("the gateway has no container");
    container.env = [
      ...container.env.filter((variable) => variable.name !== "KASMAP_HTTP_HOST"),
      { name: "KASMAP_HTTP_HOTS", value: "0.0.0.0" } as { name: string },
      { name: "LOG_LEVEL", value: "info" } as { name: string },
    ];
    expect(envMismatch(deployment, gateway)).toEqual({
      missing: ["KASMAP_HTTP_HOST"],
      unexpected: ["KASMAP_HTTP_HOTS", "LOG_LEVEL"],
    });
  });

  it("refuse the GitLab sync without GitLab mode's ConfigMap: its references are required", () => {
    const sync = SERVICES.find((service) => service.gitlabModeOnly) as ServiceEnvExpectation;
    const { deployment, objects } = deploymentOf(sync);
    expect(() => resolveContainerEnv(deployment, objects, STUBS)).toThrow(
      /kasmap-gitlab has no key KASMAP_GITLAB_URL/,
    );
  });
});
