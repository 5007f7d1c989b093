import type { AccessLevel, Membership } from "@kasmap/contracts";
import { emitRegistryChange } from "../registry-events.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import { toMembership } from "./entities.ts";

export type MembershipTarget = { userId: number; sourceType: "group" | "project"; sourceId: number };

/**
 * Sets (upserts) or removes (`level` null) one membership and emits its new state. Removal
 * deletes the row and publishes the membership with `access_level: null`, so consumers delete
 * it too. Returns undefined when there was nothing to remove.
 *
 * SQL: `insert into authz.memberships … on conflict (source_type, source_id, user_id) do update
 * set access_level = excluded.access_level returning *` / `delete … returning *`
 */
export async function writeMembership(
  unit: UnitOfWork,
  target: MembershipTarget,
  level: AccessLevel | null,
): Promise<Membership | undefined> {
  const key = { user_id: target.userId, source_type: target.sourceType, source_id: target.sourceId };
  let membership: Membership | undefined;
  if (level === null) {
    const row = await unit.tx
      .deleteFrom("authz.memberships")
      .where("user_id", "=", key.user_id)
      .where("source_type", "=", key.source_type)
      .where("source_id", "=", key.source_id)
      .returningAll()
      .executeTakeFirst();
    membership = row && { ...toMembership(row), access_level: null };
  } else {
    const row = await unit.tx
      .insertInto("authz.memberships")
      .values({ ...key, access_level: level })
      .onConflict((oc) =>
        oc.columns(["source_type", "source_id", "user_id"]).doUpdateSet({ access_level: level }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    membership = toMembership(row);
  }
  if (membership) emitRegistryChange(unit, "membership", membership);
  return membership;
}
