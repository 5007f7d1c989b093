import { isKasmapError, KasmapError } from "@kasmap/contracts";
import type { z } from "zod";

/**
 * A request parameter missing or malformed, caught before any model is touched: the
 * `invalid_params` error, which GitLab (Grape) answers `400 {"error":"name is missing"}`.
 */
export function invalidParams(problems: readonly string[]): KasmapError {
  return new KasmapError("invalid_params", problems.join(", "));
}

/** Validates `input` with `schema` or throws `invalid_params` naming each bad parameter. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    // An element of an array parameter (`user_ids=abc`): Grape names the parameter, `is invalid`.
    const element = issue.path.findIndex((key) => typeof key === "number");
    if (element > 0) return `${issue.path.slice(0, element).join(".")} is invalid`;
    const name = issue.path.join(".") || "body";
    // Zod does not always report the input with an issue; read it from the input itself, so
    // `page=abc` is "invalid" and only an absent parameter is "missing".
    // A union (`namespace`: an id or a path) reports an absent value as `invalid_union`.
    const missing =
      (issue.code === "invalid_type" || issue.code === "invalid_union") &&
      valueAt(input, issue.path) === undefined;
    if (missing) return `${name} is missing`;
    // A rule that carries Grape's own message (`except_values`: "has a value not allowed").
    const grapeMessage = issue.code === "custom" ? issue.params?.grape : undefined;
    if (typeof grapeMessage === "string") return `${name} ${grapeMessage}`;
    // Grape's `values:` (an enum, or a union of literals such as an access level).
    if (isOutsideValues(issue)) return `${name} does not have a valid value`;
    // GitLab's wording for a length limit, so the caller learns the figure.
    if (issue.code === "too_big" && issue.origin === "string") {
      return `${name} is too long (maximum is ${issue.maximum} characters)`;
    }
    return `${name} is invalid`;
  });
  throw invalidParams([...new Set(problems)]);
}

/**
 * Runs each parameter check in the order Grape declares the parameters and throws one
 * `invalid_params` naming every problem (`"agent_id is invalid, name is missing"`), as Grape
 * validates all of a route's parameters before its endpoint runs; other errors pass unchanged.
 * Routes call it right after authentication, before the project or any role is looked at.
 */
export function checkParams<const T extends readonly unknown[]>(
  ...checks: { [K in keyof T]: () => T[K] }
): T {
  const problems: string[] = [];
  const values = checks.map((check) => {
    try {
      return check();
    } catch (error) {
      if (!isKasmapError(error, "invalid_params")) throw error;
      problems.push(error.message);
      return undefined;
    }
  });
  if (problems.length > 0) throw invalidParams(problems);
  return values as unknown as T;
}

/**
 * Grape reads parameters from the query string and the body alike; the body wins on conflict.
 * Non-object bodies (raw text) contribute nothing here.
 */
export function mergedParams(query: unknown, body: unknown): Record<string, unknown> {
  const fromQuery = typeof query === "object" && query !== null ? query : {};
  const fromBody = typeof body === "object" && body !== null && !Array.isArray(body) ? body : {};
  return { ...fromQuery, ...fromBody };
}

/** Whether `issue` is a value outside a fixed list: a `z.enum`, a `z.literal` or a union of them. */
function isOutsideValues(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "invalid_value") return true;
  return (
    issue.code === "invalid_union" &&
    issue.errors.length > 0 &&
    issue.errors.every(
      (option) => option.length > 0 && option.every((inner) => inner.code === "invalid_value"),
    )
  );
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
