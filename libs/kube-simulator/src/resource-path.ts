/**
 * Parses resource paths of the Kubernetes REST API:
 * `/api/v1/nodes`, `/api/v1/nodes/<name>`, `/api/v1/namespaces/<ns>/pods[/<name>]`,
 * `/apis/<group>/<version>/...` with the same tail. `/api/v1/namespaces/<name>` is a get of
 * the Namespace itself, as on the real server.
 */
export type ResourcePath = {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
};

export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const segments = pathname
    .split("/")
    .filter((s) => s !== "")
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === "api" && segments.length >= 3) {
    group = "";
    version = segments[1] ?? "";
    rest = segments.slice(2);
  } else if (segments[0] === "apis" && segments.length >= 4) {
    group = segments[1] ?? "";
    version = segments[2] ?? "";
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  const gv = { group, version };
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const [, namespace = "", resource = "", name, ...extra] = rest;
    if (extra.length > 0) return undefined;
    return name === undefined ? { ...gv, resource, namespace } : { ...gv, resource, namespace, name };
  }
  const [resource = "", name, ...extra] = rest;
  if (extra.length > 0) return undefined;
  return name === undefined ? { ...gv, resource } : { ...gv, resource, name };
}
