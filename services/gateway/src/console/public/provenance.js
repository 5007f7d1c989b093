/**
 * Where a `cluster_info` value came from, as a person reads it, from the snapshot's `sources`
 * (`FieldSource` in libs/contracts: observed / inferred / configured / missing with a reason).
 * Pure: shared by the agent page and its unit tests.
 */

/** Why a value is missing, in words (`MISSING_REASONS` in libs/contracts). */
const MISSING_REASON_TEXT = {
  forbidden: "the collector's service account may not read it",
  "not-exposed-by-platform": "this platform does not expose it",
  "not-found": "the object it is read from does not exist",
  invalid: "the cluster reported a value Kasmap could not read",
  unreachable: "the source did not answer",
  error: "the source answered with an error",
};

/**
 * The provenance of one field: its `kind` (for the badge), a short `label` and a sentence.
 * `unrecorded`: the snapshot has no source for the field (older collectors record fewer).
 * @param {string} field
 * @param {Record<string, unknown> | undefined | null} sources
 * @returns {{ kind: "observed" | "inferred" | "configured" | "missing" | "unrecorded", label: string, sentence: string }}
 */
export function provenanceOf(field, sources) {
  const source = sources?.[field];
  if (typeof source !== "object" || source === null || !("kind" in source)) {
    return {
      kind: "unrecorded",
      label: "no source recorded",
      sentence: "The collector did not say where this came from.",
    };
  }
  const detail = "detail" in source && typeof source.detail === "string" ? source.detail : "";
  const from = "source" in source && typeof source.source === "string" ? source.source : "";
  switch (source.kind) {
    case "observed":
      return { kind: "observed", label: "observed", sentence: withDetail(`Read from ${from}.`, detail) };
    case "inferred":
      return { kind: "inferred", label: "inferred", sentence: withDetail(`Inferred from ${from}.`, detail) };
    case "configured":
      return {
        kind: "configured",
        label: "configured",
        sentence: withDetail(`Given to the collector (${from}).`, detail),
      };
    case "missing": {
      const reason = "reason" in source && typeof source.reason === "string" ? source.reason : "";
      const why = MISSING_REASON_TEXT[/** @type {keyof typeof MISSING_REASON_TEXT} */ (reason)] ?? reason;
      return {
        kind: "missing",
        label: `missing: ${reason}`,
        sentence: withDetail(`No value: ${why}.`, detail),
      };
    }
    default:
      return {
        kind: "unrecorded",
        label: "unknown source",
        sentence: "The collector recorded a source this console does not know.",
      };
  }
}

/**
 * The sentence, then the source's detail as a sentence of its own; a detail that starts with an
 * identifier (`api_endpoint_ip …`) keeps its spelling.
 * @param {string} sentence @param {string} detail
 */
function withDetail(sentence, detail) {
  if (!detail) return sentence;
  const firstWord = detail.split(" ")[0] ?? "";
  const start = /^[a-z]+$/.test(firstWord) ? `${detail.charAt(0).toUpperCase()}${detail.slice(1)}` : detail;
  return `${sentence} ${start}${/[.!?]$/.test(detail) ? "" : "."}`;
}
