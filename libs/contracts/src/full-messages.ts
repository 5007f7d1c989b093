/**
 * Rails' `errors.full_messages` of field errors: each message after its attribute's human name
 * (`{ name: ["has already been taken"] }` → `["Name has already been taken"]`).
 */
export function fullMessages(fields: Record<string, readonly string[]>): string[] {
  return Object.entries(fields).flatMap(([attribute, messages]) =>
    messages.map((message) => `${humanAttribute(attribute)} ${message}`),
  );
}

/**
 * Ruby's `Array#inspect` of strings, as GitLab interpolates `full_messages` into a message
 * (`["Name has already been taken"]`); String#inspect escapes as JSON does for these messages.
 */
export function rubyArrayInspect(strings: readonly string[]): string {
  return `[${strings.map((text) => JSON.stringify(text)).join(", ")}]`;
}

/** Rails' `human_attribute_name`: `agent_id` → `Agent`, `name` → `Name`. */
function humanAttribute(attribute: string): string {
  const words = attribute.replace(/_id$/, "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
