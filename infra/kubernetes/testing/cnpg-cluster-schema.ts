import { z } from "zod";

/**
 * The CloudNativePG `Cluster` (postgresql.cnpg.io/v1) as its API reference documents it
 * (https://cloudnative-pg.io/documentation/current/cloudnative-pg.v1/, in the repository
 * docs/src/cloudnative-pg.v1.md: "Cluster", "ClusterSpec", "BootstrapInitDB",
 * "PostgresConfiguration", "SynchronousReplicaConfiguration", "StorageConfiguration",
 * "AffinityConfiguration"). Only the part of the spec Kasmap's manifest may use, strict: an
 * unknown or misspelt field is refused, as the CRD's structural schema would prune or refuse it.
 */
const Quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/);
const ResourceList = z.strictObject({ cpu: Quantity.optional(), memory: Quantity.optional() });

const BootstrapInitDbSchema = z.strictObject({
  /** Default `app`. */
  database: z.string().min(1).optional(),
  /** Defaults to `database`. */
  owner: z.string().min(1).optional(),
  secret: z.strictObject({ name: z.string().min(1) }).optional(),
  dataChecksums: z.boolean().optional(),
  encoding: z.string().optional(),
});

const SynchronousReplicaSchema = z.strictObject({
  method: z.enum(["any", "first"]),
  number: z.number().int().min(1),
  dataDurability: z.enum(["required", "preferred"]).optional(),
});

export const CnpgClusterSchema = z.strictObject({
  apiVersion: z.literal("postgresql.cnpg.io/v1"),
  kind: z.literal("Cluster"),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
    namespace: z.string().min(1),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    description: z.string().optional(),
    imageName: z.string().min(1).optional(),
    /** Required; minimum 1. */
    instances: z.number().int().min(1),
    primaryUpdateStrategy: z.enum(["unsupervised", "supervised"]).optional(),
    primaryUpdateMethod: z.enum(["switchover", "restart"]).optional(),
    bootstrap: z.strictObject({ initdb: BootstrapInitDbSchema }).optional(),
    postgresql: z
      .strictObject({
        /** postgresql.conf options: string values. */
        parameters: z.record(z.string(), z.string()).optional(),
        synchronous: SynchronousReplicaSchema.optional(),
      })
      .optional(),
    storage: z.strictObject({ size: Quantity, storageClass: z.string().min(1).optional() }).optional(),
    affinity: z
      .strictObject({
        enablePodAntiAffinity: z.boolean().optional(),
        topologyKey: z.string().min(1).optional(),
        podAntiAffinityType: z.enum(["preferred", "required"]).optional(),
      })
      .optional(),
    resources: z
      .strictObject({ requests: ResourceList.optional(), limits: ResourceList.optional() })
      .optional(),
    enableSuperuserAccess: z.boolean().optional(),
    enablePDB: z.boolean().optional(),
  }),
});
export type CnpgCluster = z.infer<typeof CnpgClusterSchema>;
