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
 * Turns a permanent database error into `KasmapError("validation_failed")` (dead-lettered by
 * the consumer) and returns any other error unchanged (retried). The reason names the SQLSTATE,
 * the constraint and the column, never the row's values.
 */
export function classifyDatabaseError(error: unknown): unknown {
  if (!isPermanentDatabaseError(error)) return error;
  const e = error as { code: string; constraint?: unknown; column?: unknown; table?: unknown };
  const where = [e.table, e.constraint, e.column].filter((part) => typeof part === "string").join("/");
  return new KasmapError(
    "validation_failed",
    `read model refused the event: SQLSTATE ${e.code}${where ? ` (${where})` : ""}`,
    { cause: error },
  );
}
