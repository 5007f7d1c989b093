import type { z } from "zod";

/**
 * The first `limit` issues of a failed parse as one line, for logs, dead letters and error
 * messages: `a.b: <message>; (root): <message>` (`(root)` for an issue about the whole value).
 */
export function summarizeZodIssues(error: z.ZodError, limit: number): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}
