import { fullMessages, isKasmapError, KasmapError, rubyArrayInspect } from "@kasmap/contracts";
import type { z } from "zod";

/**
 * GitLab's `bad_request!(model.errors.full_messages)` as the agent routes answer it: the
 * messages as a Ruby array's `inspect` inside the string, `400 {"message":"400 Bad request -
 * [\"Name can contain only …\"]"}` — not the `{"message":{"name":[…]}}` of
 * `render_validation_error!`, which GitLab uses for projects and users.
 */
export function fullMessagesBadRequest(fields: Record<string, string[]>): KasmapError {
  return new KasmapError("bad_request", rubyArrayInspect(fullMessages(fields)));
}

/**
 * A model schema's failure as errors per attribute, in the order the schema checked them (a
 * Rails model's declaration order, which `full_messages` keeps): `{description: […], name: […]}`.
 */
export function modelFieldErrors(error: z.ZodError): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const attribute = String(issue.path[0] ?? "base");
    fields[attribute] = [...(fields[attribute] ?? []), issue.message];
  }
  return fields;
}

/** A field-level validation error rethrown in the full-messages form; anything else unchanged. */
export function asFullMessages(error: unknown): unknown {
  return isKasmapError(error, "validation_failed") && error.fields
    ? fullMessagesBadRequest(error.fields)
    : error;
}

/**
 * GitLab's `POST /groups` refusal, `render_api_error!("Failed to save group
 * #{group.errors.messages}", 400)` (lib/api/groups.rb): the errors as a Ruby Hash's `inspect`
 * inside the string, `400 {"message":"Failed to save group {:path=>[\"has already been taken\"]}"}`.
 * Clients parse that hash back (python-gitlab's `GitlabError.get_error_dict`).
 */
export function failedToSaveGroup(fields: Record<string, string[]>): KasmapError {
  return new KasmapError("save_failed", `Failed to save group ${rubyHashInspect(fields)}`);
}

/**
 * GitLab's `PUT /projects/:id/transfer` refusal, `render_api_error!("Failed to transfer project
 * #{user_project.errors.messages}", 400)` (lib/api/projects.rb): `400 {"message":"Failed to
 * transfer project {:new_namespace=>[\"Project is already in this namespace.\"]}"}`.
 */
export function failedToTransferProject(fields: Record<string, string[]>): KasmapError {
  return new KasmapError("save_failed", `Failed to transfer project ${rubyHashInspect(fields)}`);
}

/** A field-level refusal of a project's transfer in GitLab's form; anything else unchanged. */
export function asFailedToTransferProject(error: unknown): unknown {
  return isKasmapError(error, "validation_failed") && error.fields
    ? failedToTransferProject(error.fields)
    : error;
}

/** Ruby's Hash#inspect of errors per attribute: `{:path=>["has already been taken"]}`. */
function rubyHashInspect(fields: Record<string, string[]>): string {
  const entries = Object.entries(fields).map(
    ([attribute, messages]) => `${rubySymbol(attribute)}=>[${messages.map(rubyString).join(", ")}]`,
  );
  return `{${entries.join(", ")}}`;
}

/** A field-level validation error of a group's creation in GitLab's form; anything else unchanged. */
export function asFailedToSaveGroup(error: unknown): unknown {
  return isKasmapError(error, "validation_failed") && error.fields ? failedToSaveGroup(error.fields) : error;
}

/**
 * Ruby's Symbol#inspect (`:path`, or `:"route.path"` for a name that is not an identifier), as
 * Ruby before 3.4 prints Hash keys (`{:path=>…}`; GitLab runs such a Ruby).
 */
function rubySymbol(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `:${name}` : `:${rubyString(name)}`;
}

/**
 * Ruby's String#inspect for these messages: JSON's escaping, plus the `\#` Ruby writes before
 * `{`, `$` or `@` so the result never reads as interpolation.
 */
function rubyString(text: string): string {
  return JSON.stringify(text).replace(/#(?=[{$@])/g, "\\#");
}
