import { KasmapError } from "@kasmap/contracts";
import type { z } from "zod";

/**
 * GitLab's model validation failure on one field: `validation_failed` with the message
 * `<field> <messages, comma-separated>` and the messages by field (the gateway answers
 * `400 Bad request - ["Name …"]`).
 */
export function invalidField(field: string, messages: readonly string[]): KasmapError {
  return new KasmapError("validation_failed", `${field} ${messages.join(", ")}`, {
    fields: { [field]: [...messages] },
  });
}

/** Throws `invalidField` with the schema's messages unless `schema` accepts `value`. */
export function requireFieldFormat(field: string, schema: z.ZodType, value: unknown): void {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw invalidField(
      field,
      parsed.error.issues.map((issue) => issue.message),
    );
}
