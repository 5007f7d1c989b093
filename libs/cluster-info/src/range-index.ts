import type { IpFamily, ParsedCidr } from "./ip-address.ts";

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/**
 * Expected ranges indexed by family and prefix length, so "which expected range holds this
 * address or CIDR?" costs one lookup per distinct prefix length (at most 33 for IPv4, 129 for
 * IPv6) instead of one comparison per range: checking r reported values against e ranges is
 * O(r + e), not O(r × e).
 */
export class RangeIndex {
  /** family → prefix length (longest first) → network base → the range as the caller wrote it. */
  private readonly byFamily = new Map<IpFamily, Map<number, Map<bigint, string>>>();

  constructor(ranges: ReadonlyArray<{ cidr: ParsedCidr; text: string }>) {
    const sorted = [...ranges].sort((a, b) => b.cidr.prefix - a.cidr.prefix);
    for (const { cidr, text } of sorted) {
      let prefixes = this.byFamily.get(cidr.family);
      if (!prefixes) {
        prefixes = new Map();
        this.byFamily.set(cidr.family, prefixes);
      }
      let bases = prefixes.get(cidr.prefix);
      if (!bases) {
        bases = new Map();
        prefixes.set(cidr.prefix, bases);
      }
      if (!bases.has(cidr.base)) bases.set(cidr.base, text);
    }
  }

  /** The narrowest expected range holding every address of `inner`, or null. */
  containing(inner: ParsedCidr): string | null {
    const prefixes = this.byFamily.get(inner.family);
    if (!prefixes) return null;
    const bits = BITS[inner.family];
    for (const [prefix, bases] of prefixes) {
      if (prefix > inner.prefix) continue;
      const hostBits = BigInt(bits - prefix);
      const found = bases.get((inner.base >> hostBits) << hostBits);
      if (found !== undefined) return found;
    }
    return null;
  }
}
