import { z } from "zod";

/** A JSON Schema (draft 2020-12) object as `z.toJSONSchema` emits it. */
export type JsonSchema = { [key: string]: unknown };

/**
 * The JSON Schema of a zod schema, without `$schema` so it can be embedded (OpenAPI 3.1 and
 * AsyncAPI 3.0 take 2020-12 schemas inline). `io: "input"` describes what a client may send
 * (defaults optional, coercions by their input type); `"output"` what a server emits.
 * Transforms and refinements have no JSON form: their input side is described, the check is not.
 */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
}

const ISO_TIME_EXAMPLE = "2024-05-01T12:00:00.000Z";

/**
 * A small example value that satisfies `schema` (first enum value, first union member,
 * minimum-ish numbers), for documentation only. Depth-limited so recursive schemas end.
 */
export function exampleOf(schema: unknown, depth = 0): unknown {
  if (typeof schema !== "object" || schema === null || depth > 8) return null;
  const s = schema as JsonSchema;
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const alternatives = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives)) {
    const nonNull = alternatives.find((a) => (a as JsonSchema).type !== "null") ?? alternatives[0];
    return exampleOf(nonNull, depth + 1);
  }
  if (Array.isArray(s.allOf)) return exampleOf(s.allOf[0], depth + 1);
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== "null") ?? "null") : s.type;
  switch (type) {
    case "object":
      return exampleObject(s, depth);
    case "array":
      return s.items === undefined ? [] : [exampleOf(s.items, depth + 1)];
    case "string":
      return s.format === "date-time" || String(s.description ?? "").startsWith("ISO-8601")
        ? ISO_TIME_EXAMPLE
        : "string";
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? 1 : 0;
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return null;
  }
}

function exampleObject(s: JsonSchema, depth: number): Record<string, unknown> {
  const properties = (s.properties ?? {}) as Record<string, unknown>;
  const example: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(properties)) example[key] = exampleOf(property, depth + 1);
  return example;
}
