import { isKasmapError, KasmapError } from "@kasmap/contracts";

/**
 * GitLab's `bad_request!(model.errors.full_messages)` as the agent routes answer it: the
 * messages as a Ruby array's `inspect` inside the string, `400 {"message":"400 Bad request -
 * [\"Name can contain only …\"]"}` — not the `{"message":{"name":[…]}}` of
 * `render_validation_error!`, which GitLab uses for projects and users.
 */
export function fullMessagesBadRequest(fields: Record<string, string[]>): KasmapError {
  const fullMessages = Object.entries(fields).flatMap(([attribute, messages]) =>
    messages.map((message) => `${humanAttribute(attribute)} ${message}`),
  );
  // Ruby's Array#inspect: `["a", "b"]`; String#inspect escapes as JSON does for these messages.
  const inspected = `[${fullMessages.map((message) => JSON.stringify(message)).join(", ")}]`;
  return new KasmapError("bad_request", inspected);
}

/** A field-level validation error rethrown in the full-messages form; anything else unchanged. */
export function asFullMessages(error: unknown): unknown {
  return isKasmapError(error, "validation_failed") && error.fields
    ? fullMessagesBadRequest(error.fields)
    : error;
}

/** Rails' `human_attribute_name`: `agent_id` → `Agent`, `name` → `Name`. */
function humanAttribute(attribute: string): string {
  const words = attribute.replace(/_id$/, "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
