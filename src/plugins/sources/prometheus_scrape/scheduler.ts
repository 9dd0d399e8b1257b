import { sleep } from '../../../index.js';

/**
 * When each target is scraped. Like Prometheus (scrape/target.go `offset`), every target gets a
 * fixed phase within the interval from a hash of its identity, so targets are spread over the
 * interval instead of all being fetched at the same instant, and a target keeps its phase across
 * restarts. Scrapes of one target never overlap: a slot that comes due while the previous scrape
 * (or its delivery into a full queue) is still running is skipped and counted, never queued up.
 */

/** FNV-1a, 32 bits: stable across processes, unlike anything seeded. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The first time at or after `nowMs` whose position within the interval is the target's phase. */
export function firstSlot(nowMs: number, intervalMs: number, key: string): number {
  const phase = hash32(key) % intervalMs;
  const slot = nowMs - (nowMs % intervalMs) + phase;
  return slot >= nowMs ? slot : slot + intervalMs;
}

export type SkipReason = 'blocked' | 'overrun';

export interface LoopHooks {
  /** Scrape once; resolves when the scrape is delivered (or failed). */
  scrape(signal: AbortSignal): Promise<void>;
  /** True while a blocking sink queue downstream is full: the due scrape is skipped. */
  isBlocked(): boolean;
  skipped(reason: SkipReason, slots: number): void;
  /** A scrape threw (a bug: failures of the target are handled inside it); the loop goes on. */
  failed(err: unknown): void;
}

/** The scrape loop of one target. */
export class TargetLoop {
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    readonly key: string,
    private readonly intervalMs: number,
    private readonly hooks: LoopHooks,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Stop scheduling and abort a scrape in flight; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const signal = this.controller.signal;
    const interval = this.intervalMs;
    let due = firstSlot(Date.now(), interval, this.key);
    while (!signal.aborted) {
      if (!(await sleep(Math.max(0, due - Date.now()), signal))) return;
      if (this.hooks.isBlocked()) this.hooks.skipped('blocked', 1);
      else await this.hooks.scrape(signal).catch((err: unknown) => this.hooks.failed(err));
      due += interval;
      const now = Date.now();
      if (due < now) {
        // The scrape (or the wait for room in the queue) outlasted the next slots: skip them.
        const missed = Math.ceil((now - due) / interval);
        this.hooks.skipped('overrun', missed);
        due += missed * interval;
      }
    }
  }
}
