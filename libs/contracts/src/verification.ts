import { z } from "zod";

/**
 * Range verification (Kasmap extension): what a caller expects of a cluster, and the verdict
 * per value. Address expectations are lists of ranges ("10.0.0.0/16", "fd00::/8"; a bare
 * address means exactly that address); every reported address must lie inside one of them.
 */
/** At most this many ranges per expectation; a longer list is a 400 naming the cap. */
export const MAX_EXPECTED_RANGES = 1_000;
/** Longer than any address or CIDR text (an IPv6 CIDR is at most 43 characters). */
const MAX_RANGE_LENGTH = 64;
/** Longer than any cluster name, context (an EKS ARN) or platform. */
export const MAX_EXPECTED_TEXT_LENGTH = 1_024;

const Ranges = z
  .array(z.string().min(1).max(MAX_RANGE_LENGTH))
  .min(1)
  .max(MAX_EXPECTED_RANGES, { message: `has more than ${MAX_EXPECTED_RANGES} entries` });
const ExpectedText = z.string().min(1).max(MAX_EXPECTED_TEXT_LENGTH);

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
  "cluster_uid",
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
    cluster_name: ExpectedText.optional(),
    cluster_context: ExpectedText.optional(),
    platform: ExpectedText.optional(),
    /** The kube-system Namespace UID the agent must still report: refuses a moved agent. */
    cluster_uid: ExpectedText.optional(),
  })
  .strict()
  .refine((e) => Object.values(e).some((v) => v !== undefined), {
    message: "at least one expectation is required",
  });
export type ClusterExpectations = z.infer<typeof ClusterExpectationsSchema>;

/**
 * One verdict. `field` names the fact (`node_ips.internal`, `pod_cidrs`, `cluster_name`, …) and
 * `expectation` the key of the request it was checked against (`node_ips`); `value` is one
 * reported address/range/name, or null when the cluster reported none; `within` is the expected
 * range that holds a passing address; `expected` is the expected text of a name check (address
 * checks leave it out: their ranges are listed once, in the result's `expected`, so the answer
 * grows with reported + expected values, never with their product); `reason` says why a check
 * failed.
 */
export const VerificationCheckSchema = z.object({
  field: z.string(),
  expectation: z.enum(CLUSTER_EXPECTATION_FIELDS),
  value: z.string().nullable(),
  ok: z.boolean(),
  within: z.string().optional(),
  expected: z.string().optional(),
  reason: z.string().optional(),
});
export type VerificationCheck = z.infer<typeof VerificationCheckSchema>;

/**
 * `ok` is true only when every check passed (and there is at least one); `expected` echoes the
 * expectations once (canonical ranges as given).
 */
export const VerificationResultSchema = z.object({
  ok: z.boolean(),
  expected: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  checks: z.array(VerificationCheckSchema),
});
export type VerificationResult = z.infer<typeof VerificationResultSchema>;
