import { KasmapError } from "@kasmap/contracts";

/**
 * SQLSTATE classes whose errors repeat identically on every retry of the same statement
 * against the same rows: 22 data exception (a value the column type can never hold), 23
 * integrity constraint violation (e.g. a unique path taken by another row). Retrying in
 * place would block the stream forever, so such an event is dead-lettered instead. Every
 * other error (connection lost, serialization failure 40001, deadlock 40P01, admin shutdown
 * 57P01…) is transient and retried.
 */
const PERMANENT_SQLSTATE_CLASSES = new Set(["22", "23"]);

/**
 * The condition names (PostgreSQL's documentation, Appendix A "PostgreSQL Error Codes") of the
 * class 22 and 23 SQLSTATEs a write of the read model can meet — seen from hostile collector
 * events: 22P05 for a NUL character in a JSON string, 22P02 for a lone surrogate, 22021 for a
 * NUL in text, 22008 and 22009 for times out of range — so a dead letter says what kind of value
 * was refused without quoting it. Another code is named by its SQLSTATE alone.
 */
const CONDITION_NAMES: Readonly<Record<string, string>> = {
  "22001": "string_data_right_truncation",
  "22003": "numeric_value_out_of_range",
  "22004": "null_value_not_allowed",
  "22007": "invalid_datetime_format",
  "22008": "datetime_field_overflow",
  "22009": "invalid_time_zone_displacement_value",
  "22021": "character_not_in_repertoire",
  "22023": "invalid_parameter_value",
  "22P02": "invalid_text_representation",
  "22P05": "untranslatable_character",
  "23502": "not_null_violation",
  "23503": "foreign_key_violation",
  "23505": "unique_violation",
  "23514": "check_violation",
  "23P01": "exclusion_violation",
};

function sqlState(error: unknown): string | null {
  if (typeof error !== "object" || error === null || !("code" in error)) return null;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

export function isPermanentDatabaseError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== null && PERMANENT_SQLSTATE_CLASSES.has(state.slice(0, 2));
}

/**
 * Turns a permanent database error into `KasmapError("poison_event")` (dead-lettered by
 * the consumer) and returns any other error unchanged (retried). The reason names the SQLSTATE
 * and its condition, the table, the constraint and the column, never the row's values (a
 * PostgreSQL message may quote them: `invalid input syntax for type json … "…"`).
 */
export function classifyDatabaseError(error: unknown): unknown {
  if (!isPermanentDatabaseError(error)) return error;
  const e = error as { code: string; constraint?: unknown; column?: unknown; table?: unknown };
  const condition = CONDITION_NAMES[e.code];
  const where = [e.table, e.constraint, e.column].filter((part) => typeof part === "string").join("/");
  return new KasmapError(
    "poison_event",
    `read model refused the event: SQLSTATE ${e.code}${condition ? ` ${condition}` : ""}${where ? ` (${where})` : ""}`,
    { cause: error },
  );
}
