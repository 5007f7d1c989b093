export type Provenance = {
  kind: "observed" | "inferred" | "configured" | "missing" | "unrecorded";
  label: string;
  sentence: string;
};
export function provenanceOf(field: string, sources: Record<string, unknown> | undefined | null): Provenance;
