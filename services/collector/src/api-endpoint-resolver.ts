import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

const TTL_MS = 5 * 60_000;

/**
 * Resolves the API endpoint's host name to addresses (the pure derivation does no DNS).
 * Answers are cached for five minutes; a failed lookup yields no addresses, so
 * `api_endpoint_ip` stays null with its reason rather than a stale guess.
 */
export class ApiEndpointResolver {
  private cache = new Map<string, { at: number; ips: string[] }>();

  async resolve(endpoint: string | null, now = Date.now()): Promise<string[] | undefined> {
    if (!endpoint) return undefined;
    let host: string;
    try {
      host = new URL(endpoint).hostname.replace(/^\[|\]$/g, "");
    } catch {
      return undefined;
    }
    if (isIP(host)) return undefined;
    const cached = this.cache.get(host);
    if (cached && now - cached.at < TTL_MS) return cached.ips;
    let ips: string[] = [];
    try {
      ips = (await lookup(host, { all: true })).map((a) => a.address).sort();
    } catch {
      ips = [];
    }
    this.cache.set(host, { at: now, ips });
    return ips;
  }
}
