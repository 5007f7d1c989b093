/**
 * What the console's search box holds: an IP address (`52.1.2.3`, `fd00::5`) or a CIDR range
 * (`10.0.0.0/16`), read as the gateway's lookup route reads them (`?ip=` or `?cidr=`), or the
 * sentence a person sees when it is neither. Pure: shared by the page and its unit tests.
 */

const IPV4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** @param {string} text */
export function isIpv4(text) {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => IPV4_OCTET.test(part));
}

/** @param {string} text */
export function isIpv6(text) {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groupsOf = (/** @type {string} */ half) => (half === "" ? [] : half.split(":"));
  const groups = halves.flatMap(groupsOf);
  // An embedded IPv4 tail (`::ffff:10.0.0.1`) counts as two groups.
  const last = groups.at(-1) ?? "";
  const tailIsIpv4 = last.includes(".");
  if (tailIsIpv4 && !isIpv4(last)) return false;
  const hexGroups = tailIsIpv4 ? groups.slice(0, -1) : groups;
  if (!hexGroups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return false;
  const count = hexGroups.length + (tailIsIpv4 ? 2 : 0);
  return halves.length === 2 ? count < 8 : count === 8;
}

/**
 * @param {string} input
 * @returns {{ kind: "ip", ip: string } | { kind: "cidr", cidr: string } | { kind: "invalid", message: string }}
 */
export function parseAddressQuery(input) {
  const text = input.trim();
  if (text === "")
    return { kind: "invalid", message: "Type an IP address (52.1.2.3) or a range (10.0.0.0/16)." };
  const slash = text.indexOf("/");
  if (slash === -1) {
    if (isIpv4(text) || isIpv6(text)) return { kind: "ip", ip: text };
    return { kind: "invalid", message: `"${text}" is not an IP address. Try 52.1.2.3 or fd00::5.` };
  }
  const address = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  const max = isIpv4(address) ? 32 : isIpv6(address) ? 128 : 0;
  if (max === 0)
    return { kind: "invalid", message: `"${address}" is not an IP address, so "${text}" is not a range.` };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    return { kind: "invalid", message: `The prefix length after "/" must be a number from 0 to ${max}.` };
  }
  return { kind: "cidr", cidr: `${address}/${Number(prefix)}` };
}

/**
 * The lookup route's query string for a parsed search.
 * @param {{ kind: "ip", ip: string } | { kind: "cidr", cidr: string }} query
 */
export function lookupQueryString(query) {
  return query.kind === "ip"
    ? `ip=${encodeURIComponent(query.ip)}`
    : `cidr=${encodeURIComponent(query.cidr)}`;
}
