import type {
  ClusterExpectations,
  ClusterFacts,
  FieldSource,
  VerificationCheck,
  VerificationResult,
} from "@kasmap/contracts";
import { cidrContains, type ParsedCidr, parseCidr, parseIp } from "./ip-address.ts";

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
    checks.push(...addressChecks(facts, "api_endpoint_ip", ip === null ? [] : [ip], e.api_endpoint_ip));
  }
  if (e.node_ips) checks.push(...nodeIpChecks(facts, e.node_ips));
  if (e.node_ips_internal) {
    checks.push(...addressChecks(facts, "node_ips.internal", facts.node_ips.internal, e.node_ips_internal));
  }
  if (e.node_ips_external) {
    checks.push(...addressChecks(facts, "node_ips.external", facts.node_ips.external, e.node_ips_external));
  }
  if (e.pod_cidrs) checks.push(...addressChecks(facts, "pod_cidrs", facts.pod_cidrs, e.pod_cidrs));
  if (e.service_cidrs) {
    checks.push(...addressChecks(facts, "service_cidrs", facts.service_cidrs, e.service_cidrs));
  }
  if (e.cluster_name !== undefined) {
    checks.push(textCheck(facts, "cluster_name", facts.cluster_name, e.cluster_name));
  }
  if (e.cluster_context !== undefined) {
    checks.push(textCheck(facts, "cluster_context", facts.cluster_context, e.cluster_context));
  }
  if (e.platform !== undefined) checks.push(textCheck(facts, "platform", facts.platform, e.platform));
  return { ok: checks.length > 0 && checks.every((c) => c.ok), checks };
}

/**
 * A result for a cluster that has not reported at all: one failed check per expected field,
 * so a CI job sees what it could not confirm.
 */
export function unreportedVerification(expectations: ClusterExpectations): VerificationResult {
  const checks = Object.entries(expectations)
    .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
    .map(([field, expected]) => ({
      field,
      value: null,
      expected,
      ok: false,
      reason: "the cluster has not reported yet (no snapshot from its collector)",
    }));
  return { ok: false, checks };
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
    return addressChecks(facts, "node_ips.internal", [], expected).map((c) => ({ ...c, field: "node_ips" }));
  }
  return [
    ...(internal.length > 0 ? addressChecks(facts, "node_ips.internal", internal, expected) : []),
    ...(external.length > 0 ? addressChecks(facts, "node_ips.external", external, expected) : []),
  ];
}

/** One check per reported address or range; one failed check when there is none. */
function addressChecks(
  facts: ClusterFacts,
  field: string,
  values: readonly string[],
  expected: readonly string[],
): VerificationCheck[] {
  const expectedList = [...expected];
  if (values.length === 0) {
    return [{ field, value: null, expected: expectedList, ok: false, reason: missingReason(facts, field) }];
  }
  const ranges = expected.map(parseAddressRange).filter((r): r is ParsedCidr => r !== null);
  return values.map((value) => {
    const reason = rangeMismatch(value, ranges);
    return reason === null
      ? { field, value, expected: expectedList, ok: true }
      : { field, value, expected: expectedList, ok: false, reason };
  });
}

/** null when `value` (an address or a CIDR) lies inside one of `ranges`, else why not. */
function rangeMismatch(value: string, ranges: readonly ParsedCidr[]): string | null {
  const cidr = value.includes("/") ? parseCidr(value) : parseAddressRange(value);
  if (cidr === null) return `${value} is not an IP address or CIDR`;
  const inside = ranges.some((range) => rangeContains(range, cidr));
  if (inside) return null;
  return value.includes("/")
    ? `${value} is not contained in any expected range`
    : `${value} is outside every expected range`;
}

/** True when every address of `inner` is inside `outer`. */
function rangeContains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  if (outer.prefix > inner.prefix) return false;
  return cidrContains(outer, { family: inner.family, value: inner.base, text: inner.text });
}

function textCheck(
  facts: ClusterFacts,
  field: string,
  value: string | null,
  expected: string,
): VerificationCheck {
  if (value === null) return { field, value, expected, ok: false, reason: missingReason(facts, field) };
  if (value === expected) return { field, value, expected, ok: true };
  return { field, value, expected, ok: false, reason: `${field} is "${value}", expected "${expected}"` };
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
