import type { GitLabGroup } from "@kasmap/gitlab-api";
import { forEachLimited } from "../concurrency.ts";

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
      this.wait(group, group.parent_id);
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

  /**
   * Adds a page of groups, putting at most `limit` at once: level by level, so a group is put
   * only after its parent's put has returned (a page of descendants may hold parent and child).
   * Rejects with the first failure once the puts in flight have settled.
   */
  async addPage(groups: readonly GitLabGroup[], limit: number): Promise<void> {
    let ready: GitLabGroup[] = [];
    for (const group of groups) {
      if (group.parent_id !== null && !this.put.has(group.parent_id)) this.wait(group, group.parent_id);
      else ready.push(group);
    }
    while (ready.length > 0) {
      const nextLevel: GitLabGroup[] = [];
      await forEachLimited(ready, limit, async (group) => {
        // A group the mirror refused (its path, say) takes its subtree with it.
        if (!(await this.putGroup(group))) return;
        this.put.add(group.id);
        nextLevel.push(...(this.waiting.get(group.id) ?? []));
        this.waiting.delete(group.id);
      });
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
