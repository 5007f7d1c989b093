/**
 * A small subset of Kubernetes RBAC: a flat list of allow rules for every authenticated user.
 * Enough to make a collector meet the `403 Forbidden` it meets when its ClusterRole lacks a
 * resource, with the message the real authorizer writes.
 */
export type AccessRule = {
  readonly verbs: readonly string[];
  /** Plural resource name, e.g. `nodes`; `*` for all. */
  readonly resource: string;
  /** `""` is the core group; `*` for all. */
  readonly apiGroup: string;
  /** Limits the rule to one namespace (like a RoleBinding); absent = every namespace and cluster scope. */
  readonly namespace?: string;
  /** Limits the rule to these object names (only `get`, `watch` and `list` with a name field selector). */
  readonly resourceNames?: readonly string[];
};

export type AccessRequest = {
  readonly user: string;
  readonly verb: string;
  readonly resource: string;
  readonly apiGroup: string;
  /** Absent for cluster-scoped resources and for lists across all namespaces. */
  readonly namespace?: string | undefined;
  /** Present for `get`, and for list/watch narrowed by `fieldSelector=metadata.name=X`. */
  readonly name?: string | undefined;
};

/** `undefined` rules mean "allow everything", the simulator's default. */
export function isAllowed(rules: readonly AccessRule[] | undefined, request: AccessRequest): boolean {
  if (rules === undefined) return true;
  return rules.some((rule) => ruleAllows(rule, request));
}

function ruleAllows(rule: AccessRule, request: AccessRequest): boolean {
  if (!rule.verbs.includes(request.verb) && !rule.verbs.includes("*")) return false;
  if (rule.resource !== "*" && rule.resource !== request.resource) return false;
  if (rule.apiGroup !== "*" && rule.apiGroup !== request.apiGroup) return false;
  if (rule.namespace !== undefined && rule.namespace !== request.namespace) return false;
  if (rule.resourceNames !== undefined && rule.resourceNames.length > 0) {
    return request.name !== undefined && rule.resourceNames.includes(request.name);
  }
  return true;
}

/**
 * The authorizer's wording, e.g.
 * `nodes is forbidden: User "system:serviceaccount:gitlab-agent:kasmap" cannot list resource "nodes" in API group "" at the cluster scope`.
 */
export function forbiddenMessage(request: AccessRequest): string {
  const resource = request.apiGroup === "" ? request.resource : `${request.resource}.${request.apiGroup}`;
  const qualified = request.name === undefined ? resource : `${resource} "${request.name}"`;
  const scope =
    request.namespace === undefined ? "at the cluster scope" : `in the namespace "${request.namespace}"`;
  return `${qualified} is forbidden: User "${request.user}" cannot ${request.verb} resource "${request.resource}" in API group "${request.apiGroup}" ${scope}`;
}
