/**
 * A URL GitLab wrote (`https://gitlab.example.com/api/v4/projects?page=2`) as the same call on
 * Kasmap (`https://kasmap.example.com/api/v4/projects?page=2`), so a client following it stays on
 * Kasmap; null for a URL that is not GitLab's API (another host, a web page, not a URL at all).
 * The host is compared without the scheme: GitLab behind TLS termination may write `http:`.
 */
export function kasmapUrlFor(target: string, gitlab: URL, kasmap: URL): string | null {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  if (url.host.toLowerCase() !== gitlab.host.toLowerCase()) return null;
  // GitLab may live under a relative URL root (`https://example.com/gitlab`).
  const gitlabRoot = gitlab.pathname.replace(/\/+$/, "");
  const api = `${gitlabRoot}/api/v4`;
  if (url.pathname !== api && !url.pathname.startsWith(`${api}/`)) return null;
  const kasmapRoot = kasmap.pathname.replace(/\/+$/, "");
  return `${kasmap.origin}${kasmapRoot}${url.pathname.slice(gitlabRoot.length)}${url.search}${url.hash}`;
}

/**
 * An RFC 8288 `Link` header with every GitLab API URL rewritten by `kasmapUrlFor`
 * (`<https://gitlab.example.com/api/v4/projects?page=2>; rel="next"` →
 * `<https://kasmap.example.com/api/v4/projects?page=2>; rel="next"`); parameters and other
 * URLs are kept as they are.
 */
export function rewriteLinkHeader(value: string, gitlab: URL, kasmap: URL): string {
  return value.replace(/<([^>]*)>/g, (whole, target: string) => {
    const rewritten = kasmapUrlFor(target, gitlab, kasmap);
    return rewritten === null ? whole : `<${rewritten}>`;
  });
}
