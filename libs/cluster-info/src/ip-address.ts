import { isIPv4, isIPv6 } from "node:net";

/**
 * IP addresses and CIDR ranges as numbers, so lists can be de-duplicated, sorted numerically
 * and merged without string tricks. Both families use `bigint` (IPv6 needs 128 bits).
 */
export type IpFamily = 4 | 6;

export type ParsedIp = { readonly family: IpFamily; readonly value: bigint; readonly text: string };

export type ParsedCidr = {
  readonly family: IpFamily;
  /** Network address (host bits cleared). */
  readonly base: bigint;
  readonly prefix: number;
  readonly text: string;
};

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function parseIpv4Value(text: string): bigint {
  let value = 0;
  for (const part of text.split(".")) value = value * 256 + Number(part);
  return BigInt(value);
}

function parseIpv6Value(text: string): bigint {
  // Expand "::" and an embedded dotted IPv4 tail (e.g. "::ffff:10.0.0.1") into 8 groups.
  const [head = "", tail] = text.split("::");
  const toGroups = (part: string): number[] => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const v4 = Number(parseIpv4Value(piece));
        groups.push(Math.floor(v4 / 65536), v4 % 65536);
      } else groups.push(Number.parseInt(piece, 16));
    }
    return groups;
  };
  const left = toGroups(head);
  const right = tail === undefined ? [] : toGroups(tail);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  let value = 0n;
  for (const group of [...left, ...zeros, ...right]) value = (value << 16n) | BigInt(group);
  return value;
}

/** Formats an IPv6 value per RFC 5952: lowercase, longest run of zero groups (≥ 2) as "::". */
function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 6) return formatIpv6(value);
  const n = Number(value);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * Parses a literal IP address with `node:net` rules (dotted quad without leading zeros, or
 * IPv6). Zone suffixes ("fe80::1%eth0") are rejected: Kubernetes never reports them in
 * node addresses, so one is a malformed value. Returns the canonical text.
 */
export function parseIp(text: string): ParsedIp | null {
  if (text.includes("%")) return null;
  if (isIPv4(text)) return { family: 4, value: parseIpv4Value(text), text };
  if (!isIPv6(text)) return null;
  const value = parseIpv6Value(text);
  return { family: 6, value, text: formatIpv6(value) };
}

/**
 * Parses "address/prefix". Host bits are cleared, as Go's net.ParseCIDR (used by kube-proxy
 * and kubeadm) does: "10.244.1.5/16" means the network 10.244.0.0/16.
 */
export function parseCidr(text: string): ParsedCidr | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === null || !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  const bits = BITS[ip.family];
  if (prefix > bits) return null;
  const hostBits = BigInt(bits - prefix);
  const base = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, base, prefix, text: `${formatIp(ip.family, base)}/${prefix}` };
}

/** IPv4 before IPv6, then numeric; a total order so sorted lists hash equally. */
export function compareIps(a: ParsedIp, b: ParsedIp): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** Sorts and de-duplicates canonical addresses (IPv4 first, numeric order). */
export function sortedUniqueIps(ips: Iterable<ParsedIp>): string[] {
  const byText = new Map<string, ParsedIp>();
  for (const ip of ips) byText.set(ip.text, ip);
  return [...byText.values()].sort(compareIps).map((ip) => ip.text);
}

/** True when `ip` lies inside `cidr`. */
export function cidrContains(cidr: ParsedCidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  const hostBits = BigInt(BITS[cidr.family] - cidr.prefix);
  return ip.value >> hostBits === cidr.base >> hostBits;
}

/**
 * The smallest list of CIDRs covering exactly the union of `cidrs` (lossless: no address is
 * added). Sort + one merge pass + a split per merged interval: O(n log n) for n ranges, so 10,000
 * per-node ranges stay cheap. Output: IPv4 first, then IPv6, ascending.
 */
export function mergeCidrs(cidrs: readonly ParsedCidr[]): string[] {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const bits = BigInt(BITS[family]);
    const intervals = cidrs
      .filter((c) => c.family === family)
      .map((c) => [c.base, c.base + (1n << (bits - BigInt(c.prefix))) - 1n] as [bigint, bigint])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const interval of intervals) {
      const last = merged.at(-1);
      if (last !== undefined && interval[0] <= last[1] + 1n) {
        if (interval[1] > last[1]) last[1] = interval[1];
      } else merged.push([interval[0], interval[1]]);
    }
    for (const [start, end] of merged) out.push(...splitIntervalIntoCidrs(family, start, end));
  }
  return out;
}

function splitIntervalIntoCidrs(family: IpFamily, first: bigint, end: bigint): string[] {
  const bits = BigInt(BITS[family]);
  const out: string[] = [];
  let start = first;
  while (start <= end) {
    // Largest aligned block starting at `start` that does not pass `end`.
    let hostBits = 0n;
    while (
      hostBits < bits &&
      (start & ((1n << (hostBits + 1n)) - 1n)) === 0n &&
      start + (1n << (hostBits + 1n)) - 1n <= end
    ) {
      hostBits++;
    }
    out.push(`${formatIp(family, start)}/${bits - hostBits}`);
    start += 1n << hostBits;
  }
  return out;
}

/**
 * The smallest single CIDR holding every address of `cidrs`, all of one family (null when the
 * list is empty or mixes families). Unlike {@link mergeCidrs} it may add addresses: 10.244.0.0/24
 * and 10.244.2.0/24 give 10.244.0.0/22, which also holds 10.244.1.0/24 and 10.244.3.0/24.
 */
export function coveringCidr(cidrs: readonly ParsedCidr[]): ParsedCidr | null {
  const first = cidrs[0];
  if (first === undefined || cidrs.some((c) => c.family !== first.family)) return null;
  const bits = BITS[first.family];
  let low = first.base;
  let high = first.base;
  for (const c of cidrs) {
    const end = c.base + (1n << BigInt(bits - c.prefix)) - 1n;
    if (c.base < low) low = c.base;
    if (end > high) high = end;
  }
  // The longest prefix on which the lowest and highest covered addresses agree.
  let prefix = bits;
  while (prefix > 0 && low >> BigInt(bits - prefix) !== high >> BigInt(bits - prefix)) prefix--;
  const base = (low >> BigInt(bits - prefix)) << BigInt(bits - prefix);
  return { family: first.family, base, prefix, text: `${formatIp(first.family, base)}/${prefix}` };
}
