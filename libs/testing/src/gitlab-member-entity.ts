import { expect } from "vitest";

/**
 * The body GitLab's `API::Entities::Member` has for an active user's direct membership as Kasmap
 * answers it: the user's display name, whatever it is, and no expiry (Kasmap keeps none).
 */
export function gitlabMemberBody(member: { id: number; username: string; access_level: number }) {
  return { ...member, name: expect.any(String), state: "active", expires_at: null };
}
