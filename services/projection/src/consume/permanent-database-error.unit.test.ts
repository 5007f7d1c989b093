import { isKasmapError } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { classifyDatabaseError, isPermanentDatabaseError } from "./permanent-database-error.ts";

function pgError(code: string, extra: Record<string, string> = {}) {
  return Object.assign(new Error("database said no"), { code, ...extra });
}

describe("database error classification", () => {
  it.each([
    ["23505", true], // unique_violation
    ["23502", true], // not_null_violation
    ["22007", true], // invalid_datetime_format
    ["22P02", true], // invalid_text_representation
    ["40001", false], // serialization_failure
    ["40P01", false], // deadlock_detected
    ["57P01", false], // admin_shutdown
    ["08006", false], // connection_failure
    ["ECONNREFUSED", false], // a Node socket error, not a SQLSTATE
  ])("SQLSTATE %s is permanent: %s", (code, permanent) => {
    expect(isPermanentDatabaseError(pgError(code))).toBe(permanent);
  });

  it("turns a permanent error into poison_event naming the constraint, not the values", () => {
    const error = classifyDatabaseError(
      pgError("23505", { table: "groups", constraint: "groups_full_path_lower", detail: "Key (x)=(secret)" }),
    );
    expect(isKasmapError(error, "poison_event")).toBe(true);
    expect((error as Error).message).toBe(
      "read model refused the event: SQLSTATE 23505 unique_violation (groups/groups_full_path_lower)",
    );
  });

  it("names the condition of a refused value, never the value, and a code it does not know by its SQLSTATE", () => {
    const nul = classifyDatabaseError(
      Object.assign(new Error('unsupported Unicode escape sequence: "\\u0000 cannot be converted to text"'), {
        code: "22P05",
      }),
    );
    expect((nul as Error).message).toBe(
      "read model refused the event: SQLSTATE 22P05 untranslatable_character",
    );
    expect((classifyDatabaseError(pgError("2203A")) as Error).message).toBe(
      "read model refused the event: SQLSTATE 2203A",
    );
  });

  it("returns a transient error unchanged, so the consumer retries it", () => {
    const error = pgError("57P01");
    expect(classifyDatabaseError(error)).toBe(error);
    expect(classifyDatabaseError("not an error object")).toBe("not an error object");
  });
});
