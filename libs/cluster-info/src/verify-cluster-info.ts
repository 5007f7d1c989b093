import type {
  ClusterExpectations,
  ClusterFacts,
  FieldSource,
  VerificationCheck,
  VerificationResult,
} from "@kasmap/contracts";
import { type ParsedCidr, parseCidr, parseIp } from "./ip-address.ts";
import { RangeIndex } from "./range-index.ts";

type Expectation = VerificationCheck["expectation"];

/**
 * Checks a cluster's facts against expectations. Pure. Every reported address must lie inside
 * one of the expected ranges (a reported CIDR must be contained in one whole); a field the
 * cluster did not report fails with the reason its `sources` entry gives, because "we could not
 * see it" must never pass as "it is where you expect". Families are not mixed: an IPv6 address
 * passes only an IPv6 range, so a dual-stack cluster needs ranges of both families.
 */
export function verifyClusterInfo(
  facts: ClusterFacts,
  expectations: ClusterExpectations,
): VerificationResult {
  const checks: VerificationCheck[] = [];
  const e = expectations;
  if (e.api_endpoint_ip) {
    const ip = facts.api_endpoint_ip;
    const values = ip === null ? [] : [ip];
    checks.push(...addressChecks(facts, "api_endpoint_ip", "api_endpoint_ip", values, e.api_endpoint_ip));
  }
  if (e.node_ips) checks.push(...nodeIpChecks(facts, e.node_ips));
  if (e.node_ips_internal) {
    const internal = facts.node_ips.internal;
    checks.push(
      ...addressChecks(facts, "node_ips.internal", "node_ips_internal", internal, e.node_ips_internal),
    );
  }
  if (e.node_ips_external) {
    const external = facts.node_ips.external;
    checks.push(
      ...addressChecks(facts, "node_ips.external", "node_ips_external", external, e.node_ips_external),
    );
  }
  if (e.pod_cidrs)
    checks.push(...addressChecks(facts, "pod_cidrs", "pod_cidrs", facts.pod_cidrs, e.pod_cidrs));
  if (e.service_cidrs) {
    checks.push(
      ...addressChecks(facts, "service_cidrs", "service_cidrs", facts.service_cidrs, e.service_cidrs),
    );
  }
  if (e.cluster_name !== undefined) {
    checks.push(textCheck(facts, "cluster_name", facts.cluster_name, e.cluster_name));
  }
  if (e.cluster_context !== undefined) {
    checks.push(textCheck(facts, "cluster_context", facts.cluster_context, e.cluster_context));
  }
  if (e.platform !== undefined) checks.push(textCheck(facts, "platform", facts.platform, e.platform));
  if (e.cluster_uid !== undefined) {
    checks.push(textCheck(facts, "cluster_uid", facts.cluster_uid ?? null, e.cluster_uid));
  }
  return { ok: checks.length > 0 && checks.every((c) => c.ok), expected: expectedEcho(e), checks };
}

/** The expectations once, for the answer: address checks refer to these lists by `expectation`. */
function expectedEcho(expectations: ClusterExpectations): VerificationResult["expected"] {
  const echo: VerificationResult["expected"] = {};
  for (const [key, value] of Object.entries(expectations)) {
    if (value !== undefined) echo[key] = value;
  }
  return echo;
}

/**
 * A result for a cluster that has not reported at all: one failed check per expected field,
 * so a CI job sees what it could not confirm.
 */
export function unreportedVerification(expectations: ClusterExpectations): VerificationResult {
  const expected = expectedEcho(expectations);
  const checks = Object.keys(expected).map(
    (key): VerificationCheck => ({
      field: key,
      expectation: key as Expectation,
      value: null,
      ok: false,
      reason: "the cluster has not reported yet (no snapshot from its collector)",
    }),
  );
  return { ok: false, expected, checks };
}

/**
 * Expected ranges that parse as neither a CIDR nor a single address, as `field: text` lines; the
 * route answers 400 with them rather than failing checks the caller could not have meant.
 */
export function invalidExpectedRanges(expectations: ClusterExpectations): string[] {
  const problems: string[] = [];
  for (const [field, value] of Object.entries(expectations)) {
    if (!Array.isArray(value)) continue;
    for (const text of value) if (parseAddressRange(text) === null) problems.push(`${field}: ${text}`);
  }
  return problems;
}

/** A CIDR, or a bare address as the one-address range (`/32`, `/128`). */
export function parseAddressRange(text: string): ParsedCidr | null {
  const trimmed = text.trim();
  if (trimmed.includes("/")) return parseCidr(trimmed);
  const ip = parseIp(trimmed);
  if (ip === null) return null;
  return parseCidr(`${ip.text}/${ip.family === 4 ? 32 : 128}`);
}

/** Both node lists; when both are empty one failed check carries the reason. */
function nodeIpChecks(facts: ClusterFacts, expected: readonly string[]): VerificationCheck[] {
  const { internal, external } = facts.node_ips;
  if (internal.length === 0 && external.length === 0) {
    return addressChecks(facts, "node_ips.internal", "node_ips", [], expected).map((c) => ({
      ...c,
      field: "node_ips",
    }));
  }
  return [
    ...(internal.length > 0 ? addressChecks(facts, "node_ips.internal", "node_ips", internal, expected) : []),
    ...(external.length > 0 ? addressChecks(facts, "node_ips.external", "node_ips", external, expected) : []),
  ];
}

/**
 * One check per reported address or range, each naming the expected range that holds it; one
 * failed check when there is none. The ranges are indexed once, so each value costs a lookup
 * per distinct prefix length rather than a pass over every range.
 */
function addressChecks(
  facts: ClusterFacts,
  field: string,
  expectation: Expectation,
  values: readonly string[],
  expected: readonly string[],
): VerificationCheck[] {
  if (values.length === 0) {
    return [{ field, expectation, value: null, ok: false, reason: missingReason(facts, field) }];
  }
  const ranges = new RangeIndex(
    expected.flatMap((text) => {
      const cidr = parseAddressRange(text);
      return cidr === null ? [] : [{ cidr, text }];
    }),
  );
  return values.map((value): VerificationCheck => {
    const cidr = value.includes("/") ? parseCidr(value) : parseAddressRange(value);
    if (cidr === null) {
      return { field, expectation, value, ok: false, reason: `${value} is not an IP address or CIDR` };
    }
    const within = ranges.containing(cidr);
    if (within !== null) return { field, expectation, value, ok: true, within };
    const reason = value.includes("/")
      ? `${value} is not contained in any expected range`
      : `${value} is outside every expected range`;
    return { field, expectation, value, ok: false, reason };
  });
}

function textCheck(
  facts: ClusterFacts,
  field: "cluster_name" | "cluster_context" | "platform" | "cluster_uid",
  value: string | null,
  expected: string,
): VerificationCheck {
  const check = { field, expectation: field, value, expected };
  if (value === null) return { ...check, ok: false, reason: missingReason(facts, field) };
  if (value === expected) return { ...check, ok: true };
  return { ...check, ok: false, reason: `${field} is "${value}", expected "${expected}"` };
}

/** Why `field` has no value, from its `sources` entry (e.g. "not reported: forbidden (…)"). */
function missingReason(facts: ClusterFacts, field: string): string {
  const source: FieldSource | undefined = facts.sources[field];
  if (source === undefined) return "not reported by the cluster";
  if (source.kind === "missing") {
    return source.detail
      ? `not reported: ${source.reason} (${source.detail})`
      : `not reported: ${source.reason}`;
  }
  return `no value reported (source: ${source.source})`;
}
