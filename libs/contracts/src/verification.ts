import { z } from "zod";

/**
 * Range verification (Kasmap extension): what a caller expects of a cluster, and the verdict
 * per value. Address expectations are lists of ranges ("10.0.0.0/16", "fd00::/8"; a bare
 * address means exactly that address); every reported address must lie inside one of them.
 */
const Ranges = z.array(z.string().min(1)).min(1);

export const CLUSTER_EXPECTATION_FIELDS = [
  "api_endpoint_ip",
  "node_ips",
  "node_ips_internal",
  "node_ips_external",
  "pod_cidrs",
  "service_cidrs",
  "cluster_name",
  "cluster_context",
  "platform",
] as const;

/**
 * Strict, so a misspelt key (`node_ip`) is a 400 instead of an expectation silently never
 * checked; and at least one expectation, so an empty body cannot "verify" anything.
 */
export const ClusterExpectationsSchema = z
  .object({
    api_endpoint_ip: Ranges.optional(),
    node_ips: Ranges.optional(),
    node_ips_internal: Ranges.optional(),
    node_ips_external: Ranges.optional(),
    pod_cidrs: Ranges.optional(),
    service_cidrs: Ranges.optional(),
    cluster_name: z.string().min(1).optional(),
    cluster_context: z.string().min(1).optional(),
    platform: z.string().min(1).optional(),
  })
  .strict()
  .refine((e) => Object.values(e).some((v) => v !== undefined), {
    message: "at least one expectation is required",
  });
export type ClusterExpectations = z.infer<typeof ClusterExpectationsSchema>;

/**
 * One verdict. `field` names the fact (`node_ips.internal`, `pod_cidrs`, `cluster_name`, …);
 * `value` is one reported address/range/name, or null when the cluster reported none;
 * `expected` is the list of ranges (address fields) or the expected text (name fields);
 * `reason` says why a check failed.
 */
export const VerificationCheckSchema = z.object({
  field: z.string(),
  value: z.string().nullable(),
  expected: z.union([z.string(), z.array(z.string())]),
  ok: z.boolean(),
  reason: z.string().optional(),
});
export type VerificationCheck = z.infer<typeof VerificationCheckSchema>;

/** `ok` is true only when every check passed (and there is at least one). */
export const VerificationResultSchema = z.object({
  ok: z.boolean(),
  checks: z.array(VerificationCheckSchema),
});
export type VerificationResult = z.infer<typeof VerificationResultSchema>;
