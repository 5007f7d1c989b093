import { ACCESS_LEVELS, type AccessLevel, type AccessLevelName } from "@kasmap/contracts";

/** The least role an action needs (admins may do everything), or admins only. */
export type RoleRule = { readonly least: AccessLevelName } | { readonly adminOnly: true };

/**
 * GitLab's role policy as Kasmap enforces it: each action (named after GitLab's ability where
 * there is one) and the least role that may perform it on a project or group, inherited
 * memberships included. authz checks it on every command (it is the authority); the gateway
 * checks it on reads and to order its answers before forwarding a write. The role × route
 * matrix (test/e2e/matrix-expectations.ts) states the resulting HTTP answers by hand.
 */
export const ROLE_POLICY = {
  /** See a (private) project at all: any member. */
  read_project: { least: "guest" },
  /** Read a project's agents and their tokens. */
  read_cluster_agent: { least: "developer" },
  /** Create or delete agents, create or revoke their tokens, write their configuration file. */
  admin_cluster: { least: "maintainer" },
  /** Create a subgroup in a group, or move a group under it. */
  create_subgroup: { least: "maintainer" },
  /**
   * Create a project in a namespace: GitLab's `GroupPolicy` grants it to Developers under the
   * default project creation level (`DEVELOPER_MAINTAINER_PROJECT_ACCESS`, the only one Kasmap
   * has). In a personal namespace only its owner holds a level.
   */
  create_projects: { least: "developer" },
  /**
   * Move a project into a namespace (GitLab's `transfer_projects`, which
   * `Projects::TransferService` checks on the target: Maintainer+ whatever the creation level).
   */
  transfer_projects: { least: "maintainer" },
  /** Transfer a group. */
  admin_group: { least: "owner" },
  /** Transfer a project to another namespace. */
  change_namespace: { least: "owner" },
  /** Add, change or remove a group's members. */
  admin_group_member: { least: "owner" },
  /**
   * Add, change or remove a project's members (GitLab's `ProjectPolicy`: Maintainer+), except
   * Owners: granting, changing or removing the Owner role needs `manage_owners`.
   */
  admin_project_member: { least: "maintainer" },
  /**
   * Grant the Owner role on a project, or change or remove a project Owner's membership
   * (GitLab's `manage_owners`, app/policies/project_policy.rb; checked by
   * `Members::CreateService`, `UpdateService` and `DestroyService`, which raise
   * `Gitlab::Access::AccessDeniedError`, a 403).
   */
  manage_owners: { least: "owner" },
  /**
   * Read a project's audit events: a Developer only the events they authored, as GitLab
   * filters them (ee/lib/ee/api/projects.rb, `filter_by_author`); all of them needs `admin_project`.
   */
  read_project_audit_events: { least: "developer" },
  /** Administer the project; here: see every author's project audit events. */
  admin_project: { least: "maintainer" },
  /** Register a CI job (Kasmap's stand-in for running a pipeline). */
  create_pipeline: { least: "developer" },
  /** Finish a CI job. */
  update_build: { least: "developer" },
  /**
   * Assert a job's `ref_protected: true` or its `environment`: GitLab derives both from the
   * protected branches and environments only Maintainers configure; Kasmap cannot see those and
   * trusts the claim only from someone who could have configured them.
   */
  assert_job_context: { least: "maintainer" },
  /** A job token keeps working only while its user holds this on the job's project. */
  use_job_token: { least: "developer" },
  /** Create and block users, manage another user's tokens, read instance audit events. */
  admin_all_resources: { adminOnly: true },
} as const satisfies Record<string, RoleRule>;

export type RoleAction = keyof typeof ROLE_POLICY;

/** The least access level `action` needs of a non-admin; `undefined` when admins only may. */
export function leastLevel(action: RoleAction): AccessLevel | undefined {
  const rule: RoleRule = ROLE_POLICY[action];
  return "least" in rule ? ACCESS_LEVELS[rule.least] : undefined;
}

/**
 * Whether a user holding `level` (their highest membership, inherited ones included; 0 for
 * none) may perform `action`. Admins may perform every action.
 */
export function mayPerform(action: RoleAction, level: number, isAdmin: boolean): boolean {
  if (isAdmin) return true;
  const least = leastLevel(action);
  return least !== undefined && level >= least;
}
