import { posix } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildKustomization, readManifestDocuments } from "../kubernetes/testing/build-kustomization.ts";
import { kubernetesPath } from "../kubernetes/testing/kustomizations.ts";
import { type NatsHelmValues, NatsHelmValuesSchema } from "./testing/nats-helm-values-schema.ts";

const valuesFile = fileURLToPath(new URL("./helm-values.yaml", import.meta.url));
/** Where the chart mounts the nats.conf it renders (helm/charts/nats/files/stateful-set/nats-container.yaml). */
const CHART_CONFIG_DIRECTORY = "/etc/nats-config";
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
    expect(natsUrl.hostname).toBe(`${values().fullnameOverride}.kasmap.svc`);
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

  it("keeps the unauthenticated monitoring port out of the Service", () => {
    expect(values().service?.ports?.monitor).toEqual({ enabled: false });
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
