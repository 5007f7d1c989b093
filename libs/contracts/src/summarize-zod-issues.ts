import type { z } from "zod";

/** The longest path segment (a record key) a summary repeats; a longer one is cut. */
const MAX_SEGMENT_CHARS = 64;

/**
 * The first `limit` issues of a failed parse as one line, for logs, dead letters and error
 * messages: `a.b: <message>; (root): <message>` (`(root)` for an issue about the whole value).
 * A path segment is the input's own key where a record's key is refused: one longer than
 * `MAX_SEGMENT_CHARS` is cut (`…`), so a hostile key does not travel into the summary whole.
 */
export function summarizeZodIssues(error: z.ZodError, limit: number): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.map(segmentText).join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}

function segmentText(segment: PropertyKey): string {
  const text = String(segment);
  return text.length > MAX_SEGMENT_CHARS ? `${text.slice(0, MAX_SEGMENT_CHARS)}…` : text;
}
