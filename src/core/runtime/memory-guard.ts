import v8 from 'node:v8';
import vm from 'node:vm';

/** What the guard measures: the memory the agent's JavaScript holds, V8's heap in use plus buffers. */
export function jsMemoryBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Below this share of the limit the guard lets data in again, so that it does not flap at the line. */
const RESUME_AT = 0.9;
/** A full collection is forced at most this often while over the limit. */
const FORCED_GC_EVERY_MS = 5000;

let forcedGc: (() => void) | undefined | null = null;

/**
 * V8's full collection, found once. Over the limit, garbage that is not collected yet would keep
 * the guard closed: nothing is let in, so nothing allocates, so no collection runs (the OTel
 * Collector's memory_limiter forces one for the same reason).
 */
function fullGc(): (() => void) | undefined {
  if (forcedGc === null) {
    try {
      v8.setFlagsFromString('--expose-gc');
      forcedGc = vm.runInNewContext('gc') as () => void;
    } catch {
      forcedGc = undefined;
    }
  }
  return forcedGc;
}

export interface MemoryGuardOptions {
  /** Bytes; 0 turns the guard off. */
  readonly limit: number;
  readonly intervalMs?: number;
  /** How memory is read; tests pass their own. */
  readonly sample?: () => number;
  /** Called when the guard closes (over the limit) and opens again. */
  readonly onChange?: (over: boolean, usedBytes: number, limitBytes: number) => void;
}

/**
 * The agent's memory limit (`[memory] limit`, docs/delivery.md#memory-limit): while what the
 * JavaScript side holds is over it, sources are told their downstream is full, exactly as for a
 * full queue: the file source pauses, OTLP answers 503, scrapers skip. Sinks go on delivering and
 * free memory; the guard opens again below 90 % of the limit. Sampled a few times a second,
 * never per event.
 */
export class MemoryGuard {
  private over = false;
  private used = 0;
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private lastForcedGc = 0;
  private limit: number;
  private readonly sample: () => number;

  constructor(private readonly options: MemoryGuardOptions) {
    this.limit = options.limit;
    this.sample = options.sample ?? jsMemoryBytes;
  }

  start(): void {
    if (this.timer) return;
    this.check();
    this.timer = setInterval(() => this.check(), this.options.intervalMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.open();
  }

  /** On reload. */
  setLimit(limit: number): void {
    this.limit = limit;
    this.check();
  }

  get limitBytes(): number {
    return this.limit;
  }

  /** The last reading. */
  get usedBytes(): number {
    return this.used;
  }

  isOver(): boolean {
    return this.over;
  }

  /** Resolves when the guard is (or becomes) open. */
  whenUnder(): Promise<void> {
    if (!this.over) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Reads memory and opens or closes the guard; returns whether it is closed. */
  check(): boolean {
    this.used = this.sample();
    if (this.limit <= 0) {
      this.open();
      return false;
    }
    if (!this.over && this.used > this.limit) {
      this.over = true;
      this.options.onChange?.(true, this.used, this.limit);
    }
    if (this.over && this.used > this.limit * RESUME_AT && Date.now() - this.lastForcedGc >= FORCED_GC_EVERY_MS) {
      const gc = fullGc();
      if (gc) {
        this.lastForcedGc = Date.now();
        gc();
        this.used = this.sample();
      }
    }
    if (this.over && this.used <= this.limit * RESUME_AT) this.open();
    return this.over;
  }

  private open(): void {
    if (!this.over) return;
    this.over = false;
    this.options.onChange?.(false, this.used, this.limit);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
