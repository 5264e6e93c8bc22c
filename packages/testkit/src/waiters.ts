interface Waiter {
  check: () => boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Promises that settle when a condition on the upstream's state becomes true, re-checked on every change. */
export class Waiters {
  readonly #waiting = new Set<Waiter>();
  #closedReason: string | undefined;

  /** Resolves once `check()` holds; rejects with `describe()` after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (check()) return Promise.resolve();
    // Nothing will change any more: fail now rather than at the timeout.
    if (this.#closedReason !== undefined) return Promise.reject(new Error(this.#closedReason));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(waiter);
        reject(new Error(describe()));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiting.add(waiter);
    });
  }

  /** Re-checks every waiter after a state change. */
  notify(): void {
    for (const waiter of this.#waiting) {
      if (waiter.check()) {
        this.#waiting.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Rejects everything still waiting, and everything that waits later. */
  close(reason: string): void {
    this.#closedReason = reason;
    for (const waiter of this.#waiting) waiter.reject(new Error(reason));
    this.#waiting.clear();
  }
}
