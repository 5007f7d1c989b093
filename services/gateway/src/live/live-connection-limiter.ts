/**
 * Open live streams per user in one gateway process. `tryAcquire` answers a release function,
 * or null when the user is at the limit (the route answers 429). With several gateway replicas
 * the limit applies per replica.
 */
export class LiveConnectionLimiter {
  private readonly open = new Map<number, number>();

  constructor(readonly perUser: number) {}

  tryAcquire(userId: number): (() => void) | null {
    const count = this.open.get(userId) ?? 0;
    if (count >= this.perUser) return null;
    this.open.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const remaining = (this.open.get(userId) ?? 1) - 1;
      if (remaining > 0) this.open.set(userId, remaining);
      else this.open.delete(userId);
    };
  }
}
