/**
 * GitLab's defaults when a project is created with only one of `name` and `path`
 * (`API::Projects`): the path is the name parameterized (lower case, runs of other characters
 * become one `-`, no leading or trailing separator); the name is the path as given.
 */
export function derivePathFromName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-_.]+|[-_.]+$/g, "");
}

export function nameAndPath(input: { name?: string | undefined; path?: string | undefined }): {
  name: string;
  path: string;
} | null {
  if (input.name && input.path) return { name: input.name, path: input.path };
  if (input.name) return { name: input.name, path: derivePathFromName(input.name) };
  if (input.path) return { name: input.path, path: input.path };
  return null;
}
