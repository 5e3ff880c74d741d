/** Small timing primitives for the event source runner. */

/** Wakes sleepers; `wait` resolves on `notify` or after `ms`, whichever comes first. */
export class Signal {
  private waiters: Array<() => void> = [];

  wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(() => this.release(done), ms);
      this.waiters.push(done);
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private release(waiter: () => void): void {
    this.waiters = this.waiters.filter((w) => w !== waiter);
    waiter();
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
