// A counting semaphore: at most `n` tasks at once, in arrival order.
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly n: number) {
    if (!(n >= 1)) this.n = 1;
  }

  /** True when a task would have to wait right now. */
  get busy(): boolean {
    return this.active >= this.n;
  }

  async run<T>(fn: () => Promise<T>, onWait?: () => void): Promise<T> {
    if (this.active >= this.n) {
      onWait?.();
      await new Promise<void>((r) => this.queue.push(r));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
