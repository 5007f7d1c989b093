/**
 * Counts of what the derivation had to drop, so the collector can log and export them as
 * metrics. Dropping is never silent: every rejected object or value is counted here.
 */
export type DerivationDiagnostics = {
  /** Objects rejected by their schema, per source (e.g. `{ nodes: 2 }`). */
  rejectedObjects: Record<string, number>;
  /** Node addresses, pod IPs and endpoint addresses that are not valid IP literals. */
  invalidIps: number;
  /** CIDR strings (podCIDRs, subnets, ServiceCIDR) that do not parse. */
  invalidCidrs: number;
  /** Node addresses of a type Kubernetes does not define (not InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS). */
  unknownAddressTypes: number;
  /** Up to {@link MAX_DIAGNOSTIC_SAMPLES} human-readable examples, for a log line. */
  samples: string[];
};

/** Bounded so a cluster full of malformed objects cannot grow the diagnostics without limit. */
export const MAX_DIAGNOSTIC_SAMPLES = 20;

/** Mutable accumulator used during one derivation; callers only see the plain result. */
export class DiagnosticsRecorder {
  readonly result: DerivationDiagnostics = {
    rejectedObjects: {},
    invalidIps: 0,
    invalidCidrs: 0,
    unknownAddressTypes: 0,
    samples: [],
  };

  rejectObject(source: string, why: string): void {
    this.result.rejectedObjects[source] = (this.result.rejectedObjects[source] ?? 0) + 1;
    this.sample(`${source}: ${why}`);
  }

  invalidIp(where: string, value: string): void {
    this.result.invalidIps++;
    this.sample(`invalid IP ${JSON.stringify(value)} in ${where}`);
  }

  invalidCidr(where: string, value: string): void {
    this.result.invalidCidrs++;
    this.sample(`invalid CIDR ${JSON.stringify(value)} in ${where}`);
  }

  unknownAddressType(where: string, type: string): void {
    this.result.unknownAddressTypes++;
    this.sample(`unknown address type ${JSON.stringify(type)} in ${where}`);
  }

  /** Adds what another recorder counted (one node's, say), its samples after this one's. */
  absorb(other: DerivationDiagnostics): void {
    for (const [source, count] of Object.entries(other.rejectedObjects)) {
      this.result.rejectedObjects[source] = (this.result.rejectedObjects[source] ?? 0) + count;
    }
    this.result.invalidIps += other.invalidIps;
    this.result.invalidCidrs += other.invalidCidrs;
    this.result.unknownAddressTypes += other.unknownAddressTypes;
    for (const text of other.samples) this.sample(text);
  }

  private sample(text: string): void {
    if (this.result.samples.length < MAX_DIAGNOSTIC_SAMPLES) this.result.samples.push(text.slice(0, 300));
  }
}
