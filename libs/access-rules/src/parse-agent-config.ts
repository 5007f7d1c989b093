import {
  type AgentConfig,
  AgentConfigSchema,
  CI_ACCESS_AS_MODES,
  CiAccessEntrySchema,
  USER_ACCESS_AS_MODES,
  UserAccessEntrySchema,
} from "@kasmap/contracts";
import { type Document, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { formatPath, lineOfPath } from "./yaml-locator.ts";

/** One problem in a config file. `line` is 1-based; `path` is like `ci_access.projects[0].id`. */
export interface ConfigIssue {
  line: number | null;
  path: string;
  message: string;
}

/**
 * `warnings` name keys inside `ci_access`/`user_access` that were ignored (GitLab ignores them
 * too, silently); they never make the file invalid.
 */
export type ParseAgentConfigResult =
  | { ok: true; config: AgentConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[] };

type Locate = (path: readonly PropertyKey[]) => number | null;

/**
 * How many alias expansions (`*name`) a file may need, weighted by the aliases inside the
 * anchored node (the `yaml` package's `maxAliasCount`, whose default this is). A billion-laughs
 * file needs 10^9 and is refused before any expansion; ordinary reuse of a few anchors passes.
 */
export const YAML_MAX_ALIAS_COUNT = 100;

/**
 * Parses `.gitlab/agents/<name>/config.yaml`. Only `ci_access` and `user_access` are read; every
 * other top-level key (gitops, observability, remote_development, …) is accepted and ignored. An
 * empty file is a valid config that authorizes nothing.
 */
export function parseAgentConfig(yamlText: string): ParseAgentConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => ({
        line: error.linePos?.[0].line ?? null,
        path: "",
        message: firstLine(error.message),
      })),
    };
  }
  const locate: Locate = (path) => lineOfPath(doc, lineCounter, path);
  const expanded = expandAliases(doc);
  if (!expanded.ok) return { ok: false, errors: [{ line: null, path: "", message: expanded.message }] };
  const value = expanded.value;
  if (!isRecord(value)) {
    return { ok: false, errors: [{ line: locate([]), path: "", message: "must be a YAML mapping" }] };
  }
  const parsed = AgentConfigSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((issue) => toConfigIssue(issue, value, locate)) };
  }
  return { ok: true, config: parsed.data, warnings: unknownKeyWarnings(value, locate) };
}

/**
 * The document as plain data. `toJS` throws (a `ReferenceError`) when aliases would expand past
 * {@link YAML_MAX_ALIAS_COUNT}: that is the file's fault, so it becomes a config error, never an
 * exception that the caller would report as an internal failure.
 */
function expandAliases(doc: Document): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT }) ?? {} };
  } catch (error) {
    const reason = error instanceof Error ? firstLine(error.message) : String(error);
    return { ok: false, message: `YAML aliases expand too far (at most ${YAML_MAX_ALIAS_COUNT}): ${reason}` };
  }
}

/** yaml's messages end with a code frame; the line number already says where. */
function firstLine(message: string): string {
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "");
}

function toConfigIssue(issue: z.core.$ZodIssue, root: unknown, locate: Locate): ConfigIssue {
  const accessAs = issue.code === "invalid_union" ? describeAccessAs(issue, root) : null;
  const path = accessAs?.path ?? issue.path;
  const missing = issue.code === "invalid_type" && valueAt(root, path) === undefined;
  const message = accessAs?.message ?? (missing ? "is required" : issue.message);
  return { line: locate(path), path: formatPath(path), message };
}

/**
 * zod reports a bad `access_as` as "Invalid input" for the whole union; say what is wrong in
 * GitLab's terms instead, and point into the chosen mode when only its settings are wrong.
 */
function describeAccessAs(
  issue: z.core.$ZodIssueInvalidUnion,
  root: unknown,
): { path: PropertyKey[]; message: string } | null {
  const modes: readonly string[] =
    issue.path[0] === "user_access" ? USER_ACCESS_AS_MODES : CI_ACCESS_AS_MODES;
  const expected = `exactly one of ${modes.join(", ")}`;
  const value = valueAt(root, issue.path);
  if (value === undefined) return { path: issue.path, message: `is required; set ${expected}` };
  if (!isRecord(value)) return { path: issue.path, message: `must be a mapping with ${expected}` };
  const keys = Object.keys(value);
  const [mode] = keys;
  if (keys.length !== 1 || mode === undefined) {
    const found = keys.length === 0 ? "none" : keys.join(", ");
    return { path: issue.path, message: `must set ${expected}; found ${found}` };
  }
  if (!modes.includes(mode)) {
    return { path: [...issue.path, mode], message: `unknown access mode "${mode}"; expected ${expected}` };
  }
  const inner = issue.errors.flat().find((nested) => nested.path[0] === mode);
  if (!inner) return null;
  const path = [...issue.path, ...inner.path];
  const missing = inner.code === "invalid_type" && valueAt(root, path) === undefined;
  return { path, message: missing ? "is required" : inner.message };
}

const CI_ENTRY_KEYS = Object.keys(CiAccessEntrySchema.shape);
const USER_ENTRY_KEYS = Object.keys(UserAccessEntrySchema.shape);
const SECTION_KEYS = {
  ci_access: ["projects", "groups"],
  user_access: ["access_as", "projects", "groups"],
} as const;

/** Keys GitLab knows but Kasmap does not model, with the reason it gives. */
const NOT_SUPPORTED: Readonly<Record<string, string>> = {
  "ci_access.instance": "organization-wide ci_access (instance) is not supported by Kasmap and is ignored",
};

function unknownKeyWarnings(root: Record<string, unknown>, locate: Locate): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const check = (value: unknown, path: PropertyKey[], known: readonly string[]) => {
    if (!isRecord(value)) return;
    for (const key of Object.keys(value).filter((k) => !known.includes(k))) {
      const keyPath = [...path, key];
      const formatted = formatPath(keyPath);
      const message = NOT_SUPPORTED[formatted] ?? `unknown key "${key}" is ignored`;
      warnings.push({ line: locate(keyPath), path: formatted, message });
    }
  };
  for (const section of ["ci_access", "user_access"] as const) {
    const sectionValue = root[section];
    check(sectionValue, [section], SECTION_KEYS[section]);
    const entryKeys = section === "ci_access" ? CI_ENTRY_KEYS : USER_ENTRY_KEYS;
    for (const list of ["projects", "groups"] as const) {
      const entries = isRecord(sectionValue) ? sectionValue[list] : undefined;
      if (!Array.isArray(entries)) continue;
      entries.forEach((entry, index) => {
        check(entry, [section, list, index], entryKeys);
      });
    }
  }
  return warnings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === "number") current = current[segment];
    else if (isRecord(current) && typeof segment === "string") current = current[segment];
    else return undefined;
  }
  return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
