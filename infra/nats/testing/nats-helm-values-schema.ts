import { z } from "zod";

/**
 * The values of the official NATS Helm chart (https://github.com/nats-io/k8s,
 * helm/charts/nats/values.yaml, chart 2.14.2) that infra/nats/helm-values.yaml may set, with the
 * chart's own nesting and names. Strict, so a key the chart does not document (a typo, or one
 * the chart would silently ignore) is refused. `merge` is the chart's free-form extension (it is
 * merged into what the chart renders) and `patch` a JSON Patch (RFC 6902) applied after it.
 */
const Merge = z.record(z.string(), z.unknown());
const JsonPatch = z.array(
  z.strictObject({
    op: z.enum(["add", "remove", "replace", "move", "copy", "test"]),
    path: z.string().startsWith("/"),
    value: z.unknown().optional(),
    from: z.string().optional(),
  }),
);
const Extension = { merge: Merge.optional(), patch: JsonPatch.optional() };

/** `config.<protocol>.tls`: a Secret mounted at `dir`, its `cert` and `key` files. */
const ProtocolTls = z.strictObject({
  enabled: z.boolean(),
  secretName: z.string().min(1).optional(),
  dir: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  ...Extension,
});

const Pvc = z.strictObject({
  enabled: z.boolean(),
  size: z.string().regex(/^[0-9]+(Ki|Mi|Gi|Ti)$/),
  storageClassName: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  ...Extension,
});

const Resources = z.strictObject({
  requests: z.record(z.string(), z.string()).optional(),
  limits: z.record(z.string(), z.string()).optional(),
});

export const NatsHelmValuesSchema = z.strictObject({
  nameOverride: z.string().min(1).optional(),
  fullnameOverride: z.string().min(1).optional(),
  namespaceOverride: z.string().min(1).optional(),
  tlsCA: z
    .strictObject({
      enabled: z.boolean(),
      configMapName: z.string().min(1).optional(),
      secretName: z.string().min(1).optional(),
      dir: z.string().optional(),
      key: z.string().optional(),
    })
    .optional(),
  config: z.strictObject({
    cluster: z
      .strictObject({
        enabled: z.boolean(),
        port: z.number().int().optional(),
        /** "must be 2 or higher when jetstream is enabled" */
        replicas: z.number().int().min(2).optional(),
        noAdvertise: z.boolean().optional(),
        routeURLs: z
          .strictObject({
            user: z.string().optional(),
            password: z.string().optional(),
            useFQDN: z.boolean().optional(),
            k8sClusterDomain: z.string().optional(),
          })
          .optional(),
        tls: ProtocolTls.optional(),
        ...Extension,
      })
      .optional(),
    jetstream: z
      .strictObject({
        enabled: z.boolean(),
        fileStore: z
          .strictObject({
            enabled: z.boolean(),
            dir: z.string().optional(),
            pvc: Pvc.optional(),
            maxSize: z.string().optional(),
          })
          .optional(),
        memoryStore: z.strictObject({ enabled: z.boolean(), maxSize: z.string().optional() }).optional(),
        ...Extension,
      })
      .optional(),
    nats: z.strictObject({ port: z.number().int().optional(), tls: ProtocolTls.optional() }).optional(),
    monitor: z
      .strictObject({
        enabled: z.boolean(),
        port: z.number().int().optional(),
        tls: z.strictObject({ enabled: z.boolean() }).optional(),
      })
      .optional(),
    serverNamePrefix: z.string().optional(),
    ...Extension,
  }),
  container: z
    .strictObject({
      env: z.record(z.string(), z.unknown()).optional(),
      resources: Resources.optional(),
      ...Extension,
    })
    .optional(),
  reloader: z
    .strictObject({
      enabled: z.boolean().optional(),
      env: z.record(z.string(), z.unknown()).optional(),
      natsVolumeMountPrefixes: z.array(z.string()).optional(),
      ...Extension,
    })
    .optional(),
  podTemplate: z
    .strictObject({
      configChecksumAnnotation: z.boolean().optional(),
      /** topologyKey → the rest of a TopologySpreadConstraint. */
      topologySpreadConstraints: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
      ...Extension,
    })
    .optional(),
  service: z
    .strictObject({
      enabled: z.boolean().optional(),
      ports: z.record(z.string(), z.strictObject({ enabled: z.boolean() })).optional(),
      ...Extension,
    })
    .optional(),
  podDisruptionBudget: z.strictObject({ enabled: z.boolean(), ...Extension }).optional(),
  natsBox: z.strictObject({ enabled: z.boolean() }).optional(),
});
export type NatsHelmValues = z.infer<typeof NatsHelmValuesSchema>;
