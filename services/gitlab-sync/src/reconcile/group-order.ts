import type { GitLabGroup } from "@kasmap/gitlab-api";

/**
 * Puts groups parents first whatever order a listing gives them in: a group whose parent has not
 * been put in this walk waits for it (GitLab lists by id by default, so after a transfer a child
 * may come first). Holds only the ids put and the groups still waiting, never the listing.
 */
export class ParentsFirst {
  private readonly put = new Set<number>();
  private readonly waiting = new Map<number, GitLabGroup[]>();

  constructor(private readonly putGroup: (group: GitLabGroup) => Promise<boolean>) {}

  /** Marks groups as already in the mirror for this walk (the configured roots). */
  markPut(id: number): void {
    this.put.add(id);
  }

  has(id: number): boolean {
    return this.put.has(id);
  }

  /** Puts `group` now if its parent is in (or it has none), then whatever waited for it. */
  async add(group: GitLabGroup): Promise<void> {
    if (group.parent_id !== null && !this.put.has(group.parent_id)) {
      const siblings = this.waiting.get(group.parent_id) ?? [];
      siblings.push(group);
      this.waiting.set(group.parent_id, siblings);
      return;
    }
    const ready = [group];
    for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
      // A group the mirror refused (its path, say) takes its subtree with it.
      if (!(await this.putGroup(next))) continue;
      this.put.add(next.id);
      ready.push(...(this.waiting.get(next.id) ?? []));
      this.waiting.delete(next.id);
    }
  }

  /** Groups whose parent never came (not visible to the token): they cannot be mirrored. */
  orphans(): GitLabGroup[] {
    return [...this.waiting.values()].flat();
  }
}
