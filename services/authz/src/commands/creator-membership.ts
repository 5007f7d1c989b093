import type { AccessLevel, User } from "@kasmap/contracts";
import { membershipLevelOnGroup } from "../permissions.ts";
import { type MembershipTarget, writeMembership } from "../store/memberships.ts";
import type { UnitOfWork } from "../unit-of-work.ts";

/**
 * Makes the creator of a new group or project a member of it at `level`, unless they already
 * inherit that much from the groups above it (`inheritedFrom`, their `traversal_ids`): GitLab
 * adds no redundant membership.
 */
export async function addCreatorMembership(
  unit: UnitOfWork,
  creator: User,
  source: Omit<MembershipTarget, "userId">,
  level: AccessLevel,
  inheritedFrom: readonly number[],
): Promise<void> {
  const inherited = await membershipLevelOnGroup(unit.tx, creator.id, inheritedFrom);
  if (inherited < level) await writeMembership(unit, { userId: creator.id, ...source }, level);
}
