import type { GitLabGroup } from "@kasmap/gitlab-api";

/**
 * Puts groups parents first whatever order a listing gives them in: a group whose parent has not
 * been put in this walk waits for it (GitLab lists by id by default, so after a transfer a child
 * may come first). Holds only the ids put and the groups still waiting, never the listing.
 */
export class ParentsFirst {
  private readonly put = new Set<number>();
  private readonly waiting = new Map<number, GitLabGroup[]>();

  /**
   * @param putGroups puts siblings' worth of groups at once (their parents already put); resolves
   *   with the ids of those put — a group the mirror refused (its path, say) takes its subtree
   *   with it.
   */
  constructor(private readonly putGroups: (groups: GitLabGroup[]) => Promise<ReadonlySet<number>>) {}

  /** Marks groups as already in the mirror for this walk (the configured roots). */
  markPut(id: number): void {
    this.put.add(id);
  }

  has(id: number): boolean {
    return this.put.has(id);
  }

  /** Puts `group` now if its parent is in (or it has none), then whatever waited for it. */
  add(group: GitLabGroup): Promise<void> {
    return this.addPage([group]);
  }

  /**
   * Adds a page of groups, level by level: one put for the groups whose parents are in, then one
   * for the children of those, and so on, so a group is put only after its parent's put has
   * returned (a page of descendants may hold parent and child). Rejects with a put's failure.
   */
  async addPage(groups: readonly GitLabGroup[]): Promise<void> {
    let ready: GitLabGroup[] = [];
    for (const group of groups) {
      if (group.parent_id !== null && !this.put.has(group.parent_id)) this.wait(group, group.parent_id);
      else ready.push(group);
    }
    while (ready.length > 0) {
      const putIds = await this.putGroups(ready);
      const nextLevel: GitLabGroup[] = [];
      for (const group of ready) {
        if (!putIds.has(group.id)) continue;
        this.put.add(group.id);
        nextLevel.push(...(this.waiting.get(group.id) ?? []));
        this.waiting.delete(group.id);
      }
      ready = nextLevel;
    }
  }

  private wait(group: GitLabGroup, parentId: number): void {
    const siblings = this.waiting.get(parentId) ?? [];
    siblings.push(group);
    this.waiting.set(parentId, siblings);
  }

  /** Groups whose parent never came (not visible to the token): they cannot be mirrored. */
  orphans(): GitLabGroup[] {
    return [...this.waiting.values()].flat();
  }
}
