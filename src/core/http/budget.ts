/**
 * A byte budget shared by the requests of one receiver that are being decoded at once
 * (docs/operations.md#http-listeners-timeouts-and-connection-limits). Decoding multiplies a
 * body's size in memory several times over, so sixteen 19 MiB bodies decoded together can
 * take gigabytes; with a budget, the ones that do not fit wait, briefly and in arrival order,
 * and are refused (503 with `Retry-After`) when the wait runs out.
 */
export class DecodeBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; grant: (release: () => void) => void }> = [];

  constructor(private readonly max: number) {}

  /** Bytes granted to requests being decoded now. */
  get inUse(): number {
    return this.used;
  }

  /** Requests waiting for a share of the budget. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A share of `bytes`, as the function that returns it (calling it twice is harmless), or
   * undefined when none came within `waitMs`. A request larger than the whole budget is
   * granted alone, when nothing else is being decoded: refusing it forever would make
   * `max_body_bytes` a lie.
   */
  acquire(bytes: number, waitMs: number): Promise<(() => void) | undefined> {
    if (this.grantsAtOnce(bytes)) return Promise.resolve(this.take(bytes));
    if (waitMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const entry = {
        bytes,
        grant: (release: () => void) => {
          clearTimeout(timer);
          resolve(release);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(undefined);
        // The head may have been the one blocking smaller requests behind it.
        this.grantWaiting();
      }, waitMs);
      this.waiting.push(entry);
    });
  }

  /** Whether `acquire(bytes)` would be granted without waiting. */
  grantsAtOnce(bytes: number): boolean {
    return this.waiting.length === 0 && this.fits(bytes);
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.max;
  }

  private take(bytes: number): () => void {
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.grantWaiting();
    };
  }

  /** First come, first served: a large request at the head is not overtaken by smaller ones. */
  private grantWaiting(): void {
    while (this.waiting.length > 0) {
      const head = this.waiting[0] as (typeof this.waiting)[number];
      if (!this.fits(head.bytes)) return;
      this.waiting.shift();
      head.grant(this.take(head.bytes));
    }
  }
}
