/**
 * Which GitLab paths the mirror covers: everything the token sees (`rootGroups` null), or the
 * configured root groups and what lies under them (paths compared as GitLab does, ignoring case).
 * Personal namespaces are mirrored only without configured roots.
 */
export function inMirrorScope(rootGroups: readonly string[] | null, fullPath: string): boolean {
  if (rootGroups === null) return true;
  const path = fullPath.toLowerCase();
  return rootGroups.some((root) => {
    const prefix = root.toLowerCase().replace(/\/+$/, "");
    return path === prefix || path.startsWith(`${prefix}/`);
  });
}

/** A group above a configured root (a root may be a subgroup): mirrored as its ancestor. */
export function holdsMirrorRoot(rootGroups: readonly string[] | null, fullPath: string): boolean {
  if (rootGroups === null) return false;
  const path = `${fullPath.toLowerCase()}/`;
  return rootGroups.some((root) => root.toLowerCase().startsWith(path));
}
