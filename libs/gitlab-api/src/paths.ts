/**
 * Encodes one path segment of a GitLab API URL: a project or group given by full path
 * (`group/sub/project` → `group%2Fsub%2Fproject`) or a repository file path
 * (`.gitlab/agents/a/config.yaml` → `.gitlab%2Fagents%2Fa%2Fconfig.yaml`). GitLab's docs also
 * show `.` as `%2E`; GitLab decodes both, so `encodeURIComponent` is enough.
 */
export function encodePathSegment(segment: string | number): string {
  return encodeURIComponent(String(segment));
}

/**
 * Template tag that encodes every interpolated value as one path segment:
 * gitlabPath`/projects/${"a/b"}/repository/files/${file}/raw` → `/projects/a%2Fb/repository/…`.
 */
export function gitlabPath(strings: TemplateStringsArray, ...values: ReadonlyArray<string | number>): string {
  let path = strings[0] ?? "";
  for (let index = 0; index < values.length; index += 1) {
    path += encodePathSegment(values[index] as string | number) + (strings[index + 1] ?? "");
  }
  return path;
}

/** GitLab's agent config file path for an agent name. */
export function agentConfigPath(agentName: string): string {
  return `.gitlab/agents/${agentName}/config.yaml`;
}

/** The agent name a repository path is the config file of, or null. */
export function agentNameOfConfigPath(path: string): string | null {
  const match = /^\.gitlab\/agents\/([^/]+)\/config\.yaml$/.exec(path);
  return match?.[1] ?? null;
}
