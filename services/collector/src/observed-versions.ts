/**
 * How new a collector's view of the cluster is: per watched source (`nodes`, `services`, …),
 * the Kubernetes `resourceVersion` its items are current at. Kubernetes defines resource
 * versions of one resource as comparable integers (KEP-5504, stable in 1.35; they are etcd
 * revisions in every release before), so two replicas watching one cluster can tell whose view
 * of a source is newer, and a replica whose watch lags never writes its older view over a
 * snapshot that already shows the newer one.
 */
export type ObservedVersions = Readonly<Record<string, string>>;

/** NATS header carrying the {@link ObservedVersions} of a snapshot, as compact JSON. */
export const OBSERVED_VERSIONS_HEADER = "Kasmap-Observed-Versions";

const RESOURCE_VERSION = /^[1-9][0-9]*$/;

/** The header's value; only versions in the comparable form (positive integers) are kept. */
export function encodeObservedVersions(versions: ObservedVersions): string {
  const kept = Object.entries(versions).filter(([, version]) => RESOURCE_VERSION.test(version));
  return JSON.stringify(Object.fromEntries(kept.sort(([a], [b]) => a.localeCompare(b))));
}

/** Reads the header's value back; null when absent or not a map of comparable versions. */
export function decodeObservedVersions(value: string | undefined): ObservedVersions | null {
  if (!value) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  const versions: Record<string, string> = {};
  for (const [source, version] of Object.entries(parsed)) {
    if (typeof version === "string" && RESOURCE_VERSION.test(version)) versions[source] = version;
  }
  return versions;
}

/**
 * The sources for which `theirs` is newer than `mine`: a higher resourceVersion, or an answer
 * where `mine` has none yet. A version not in the comparable form is never called older.
 * Empty: `mine` has seen at least everything `theirs` had.
 */
export function sourcesBehind(mine: ObservedVersions, theirs: ObservedVersions): string[] {
  const behind: string[] = [];
  for (const [source, their] of Object.entries(theirs)) {
    if (!RESOURCE_VERSION.test(their)) continue;
    const my = mine[source];
    if (my === undefined) behind.push(source);
    else if (RESOURCE_VERSION.test(my) && BigInt(their) > BigInt(my)) behind.push(source);
  }
  return behind.sort();
}
