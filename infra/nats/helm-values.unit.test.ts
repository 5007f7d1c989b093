import { posix } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildKustomization, readManifestDocuments } from "../kubernetes/testing/build-kustomization.ts";
import { kubernetesPath } from "../kubernetes/testing/kustomizations.ts";
import { type NatsHelmValues, NatsHelmValuesSchema } from "./testing/nats-helm-values-schema.ts";

const valuesFile = fileURLToPath(new URL("./helm-values.yaml", import.meta.url));
/** Where the chart mounts the nats.conf it renders (helm/charts/nats/files/stateful-set/nats-container.yaml). */
const CHART_CONFIG_DIRECTORY = "/etc/nats-config";
/** The release name README's `helm install` gives; the chart's pods carry it as `app.kubernetes.io/instance`. */
const HELM_RELEASE = "kasmap-nats";
/** The ConfigMap of rendered nkey users, as infra/kubernetes/nats.yaml names it too. */
const AUTHORIZATION_CONFIG_MAP = "kasmap-nats-authorization";

function values(): NatsHelmValues {
  const [document] = readManifestDocuments(valuesFile);
  return NatsHelmValuesSchema.parse(document);
}

type Patch = { op: string; path: string; value?: unknown };
const added = (patch: Patch[] | undefined, path: string) =>
  (patch ?? []).filter((operation) => operation.op === "add" && operation.path === path).map((o) => o.value);

describe("infra/nats/helm-values.yaml", () => {
  it("sets only keys the chart documents, with their types", () => {
    const [document] = readManifestDocuments(valuesFile);
    expect(NatsHelmValuesSchema.safeParse(document).error?.issues ?? []).toEqual([]);
  });

  it("runs a 3-node JetStream cluster on file storage", () => {
    const { config } = values();
    expect(config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(config.jetstream).toMatchObject({
      enabled: true,
      fileStore: { enabled: true, pvc: { enabled: true } },
    });
    expect(config.jetstream?.memoryStore?.enabled).toBe(false);
  });

  it("requires TLS from clients and mutual TLS between the nodes", () => {
    const { config, tlsCA } = values();
    expect(config.nats?.tls).toMatchObject({ enabled: true, secretName: "kasmap-nats-tls" });
    expect(config.cluster?.tls).toMatchObject({
      enabled: true,
      secretName: "kasmap-nats-tls",
      merge: { verify: true },
    });
    expect(tlsCA).toMatchObject({ enabled: true, secretName: "kasmap-nats-tls" });
  });

  it("authenticates only the nkey users rendered into the authorization ConfigMap", () => {
    const { config, container, podTemplate } = values();
    const include = config.merge?.$include;
    expect(typeof include).toBe("string");
    const included = posix.join(CHART_CONFIG_DIRECTORY, include as string);
    const [mount] = added(container?.patch, "/volumeMounts/-") as { name: string; mountPath: string }[];
    expect(included).toBe(posix.join(mount?.mountPath ?? "", "authorization.conf"));
    const volumes = added(podTemplate?.patch, "/spec/volumes/-") as {
      name: string;
      configMap?: { name: string };
    }[];
    expect(volumes.find((volume) => volume.name === mount?.name)?.configMap?.name).toBe(
      AUTHORIZATION_CONFIG_MAP,
    );
    // No other way in: no anonymous user, no users or accounts besides the rendered file's.
    for (const key of ["no_auth_user", "authorization", "accounts"])
      expect(config.merge).not.toHaveProperty(key);
  });

  it("names the Service the services' NATS_URL points at", () => {
    const configMap = buildKustomization(kubernetesPath("base")).find(
      (object) => object.kind === "ConfigMap" && object.metadata.name === "kasmap-config",
    );
    const data = (configMap?.data ?? {}) as Record<string, string>;
    const natsUrl = new URL(data.NATS_URL ?? "");
    expect(values().fullnameOverride).toBe(HELM_RELEASE);
    expect(natsUrl.hostname).toBe(`${HELM_RELEASE}.kasmap.svc`);
    expect(natsUrl.port).toBe(String(values().config.nats?.port));
  });

  it("runs the servers and the config reloader as non-root, without privileges", () => {
    const { container, reloader, podTemplate } = values();
    const restricted = {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    };
    expect(container?.merge?.securityContext).toEqual(restricted);
    expect(reloader?.merge?.securityContext).toEqual(restricted);
    expect(podTemplate?.merge?.spec).toMatchObject({
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    });
  });

  it("keeps the unauthenticated monitoring port out of the Service and closed to other pods", () => {
    const { config, service } = values();
    expect(service?.ports?.monitor).toEqual({ enabled: false });
    type Policy = {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: {
          from?: { podSelector: { matchLabels: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
      };
    };
    const policy = buildKustomization(kubernetesPath("base")).find(
      (object) => object.kind === "NetworkPolicy" && object.metadata.name === "kasmap-nats",
    ) as unknown as Policy;
    // The chart's selector labels (helm/charts/nats/templates/_helpers.tpl, nats.selectorLabels).
    const natsPods = {
      "app.kubernetes.io/name": "nats",
      "app.kubernetes.io/instance": HELM_RELEASE,
      "app.kubernetes.io/component": "nats",
    };
    expect(policy.spec.podSelector.matchLabels).toEqual(natsPods);
    const open = policy.spec.ingress.flatMap((rule) => rule.ports.map((port) => port.port));
    expect(open.sort()).toEqual([config.nats?.port, config.cluster?.port ?? 6222].sort());
    expect(open).not.toContain(config.monitor?.port);
    const routes = policy.spec.ingress.find((rule) =>
      rule.ports.some((port) => port.port === (config.cluster?.port ?? 6222)),
    );
    expect(routes?.from).toEqual([{ podSelector: { matchLabels: natsPods } }]);
  });

  it("refuses a key the chart does not document, a wrong type and a cluster too small for JetStream", () => {
    const good = values();
    const problems = (candidate: unknown) =>
      (NatsHelmValuesSchema.safeParse(candidate).error?.issues ?? []).map((issue) => issue.path.join("."));
    const misspelt = structuredClone(good) as unknown as { config: { jetstream: Record<string, unknown> } };
    misspelt.config.jetstream.filestore = misspelt.config.jetstream.fileStore;
    expect(problems(misspelt)).toEqual(["config.jetstream"]);
    expect(
      problems({ ...good, config: { ...good.config, cluster: { ...good.config.cluster, replicas: "3" } } }),
    ).toEqual(["config.cluster.replicas"]);
    expect(
      problems({ ...good, config: { ...good.config, cluster: { ...good.config.cluster, replicas: 1 } } }),
    ).toEqual(["config.cluster.replicas"]);
  });
});
