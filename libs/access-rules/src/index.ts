/**
 * `@kasmap/access-rules`: GitLab's authorization rules as pure functions (no I/O; not the authz
 * service). Parse an agent's config file, resolve it into grant rows, diff grant sets, answer
 * "which agents may this project / job / user use, and why", and the role policy (`ROLE_POLICY`,
 * `mayPerform`): who may do what on a project or group.
 */
export {
  type AllowedAgent,
  allowedAgentsForProject,
  configProjectEligible,
} from "./allowed-agents-for-project.ts";
export {
  type AgentPlacement,
  CI_ACCESS_RULES,
  type CiAccessData,
  type CiAccessOptions,
  type CiAccessRule,
  type CiGroupAuthorizationRow,
  type CiProjectAuthorizationRow,
  ciAccessRows,
  type ProjectPlacement,
} from "./ci-access-data.ts";
export { diffGrantSets, type GrantSetDiff } from "./diff-grant-sets.ts";
export {
  type AuthorizationExplanation,
  type ExplainOptions,
  explainAuthorization,
} from "./explain-authorization.ts";
export {
  environmentMatches,
  filterAuthorizationsForJob,
  type JobContext,
  jobDenialReason,
} from "./filter-authorizations-for-job.ts";
export { type ConfigIssue, type ParseAgentConfigResult, parseAgentConfig } from "./parse-agent-config.ts";
export {
  type RegistryLookup,
  type ResolvedAgentConfig,
  type ResolvedNamespace,
  resolveAgentConfig,
} from "./resolve-agent-config.ts";
export { leastLevel, mayPerform, ROLE_POLICY, type RoleAction, type RoleRule } from "./role-policy.ts";
export {
  type MembershipFact,
  type PlacementLookup,
  type UserAccessDecision,
  type UserAccessSubject,
  userAccessAllowed,
} from "./user-access-allowed.ts";
