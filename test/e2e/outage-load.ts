import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { MetricEvent } from '../../src/core/events.js';
import { otlpBodies, postOtlp } from './harness.js';

/**
 * Load for the outage test: OTLP clients that behave like an SDK exporter
 * (retry a refused request after `Retry-After`, until it is accepted) and writers appending lines
 * to log files, each recording what it did so the test can check the stores against it.
 */

export const LOAD_METRIC = 'outage_load';
export const POINTS_PER_REQUEST = 100;

/** Every answer an OTLP client got, in order. */
export interface Answer {
  at: number;
  status: number | 'error';
  retryAfter: string | null;
}

/**
 * One OTLP metrics client. Request `r` carries point `(client, slot, r)` for each slot: a series
 * per (client, slot) and a distinct timestamp per request, so every point is identifiable in
 * `metrics_points`. A request that is not answered 200 is sent again, the same body, after the
 * `Retry-After` the agent named (1 s after a network error): the OTLP exporter's behaviour.
 */
export class OtlpClient {
  readonly answers: Answer[] = [];
  /** Requests answered 200 (requests 0 .. accepted-1). */
  accepted = 0;
  private stopping = false;
  private aborted = false;
  private done: Promise<void> | undefined;

  constructor(
    private readonly base: string,
    readonly client: number,
    private readonly t0Us: number,
    private readonly pauseMs: number,
  ) {}

  points(r: number): MetricEvent[] {
    return Array.from({ length: POINTS_PER_REQUEST }, (_, slot) => ({
      kind: 'metric',
      type: 'gauge',
      name: LOAD_METRIC,
      labels: { client: String(this.client), slot: String(slot), service: 'loadgen' },
      time_us: this.t0Us + r * 1000,
      value: r,
    }));
  }

  /** The key the test finds each accepted point under: `client/slot/time_us`. */
  acceptedKeys(): string[] {
    const keys: string[] = [];
    for (let r = 0; r < this.accepted; r++) for (let slot = 0; slot < POINTS_PER_REQUEST; slot++) keys.push(`${this.client}/${slot}/${this.t0Us + r * 1000}`);
    return keys;
  }

  start(): void {
    this.done = this.run();
  }

  /** Send no new request; resolves once the one in flight was accepted. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  /** Give up at once, accepted or not (test teardown). */
  abort(): void {
    this.stopping = true;
    this.aborted = true;
  }

  private async run(): Promise<void> {
    for (let r = 0; !this.stopping; r++) {
      const body = otlpBodies.metrics(this.points(r));
      for (;;) {
        if (this.aborted) return;
        const answer = await postOtlp(this.base, 'metrics', body).then(
          (a): Answer => ({ at: Date.now(), ...a }),
          (): Answer => ({ at: Date.now(), status: 'error', retryAfter: null }),
        );
        this.answers.push(answer);
        if (answer.status === 200) break;
        const wait = answer.retryAfter !== null && /^\d+$/.test(answer.retryAfter) ? Number(answer.retryAfter) * 1000 : 1000;
        await sleep(wait);
      }
      this.accepted = r + 1;
      await sleep(this.pauseMs);
    }
  }
}

/** Appends `lines` JSON lines to `file` every `everyMs`; line `i` says `<prefix> line <i>`. */
export class LineWriter {
  written = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly prefix: string,
  ) {}

  message(i: number): string {
    return `${this.prefix} line ${i}`;
  }

  start(lines: number, everyMs: number): void {
    this.timer = setInterval(() => {
      let text = '';
      for (let k = 0; k < lines; k++, this.written++) {
        text += `${JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'outage', message: this.message(this.written), line: this.written })}\n`;
      }
      fs.appendFileSync(this.file, text);
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * The committed checkpoint of a source, read from the agent's queue database while it runs
 * (WAL mode: a reader does not disturb the writer).
 */
export function committedCheckpoint(dataDir: string, source: string): string | undefined {
  const db = new Database(path.join(dataDir, 'queue.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT value FROM checkpoints WHERE source = ?').get(source) as { value: string } | undefined;
    return row?.value;
  } finally {
    db.close();
  }
}

/** What /components says about one component (the fields this test reads). */
export interface ComponentState {
  id: string;
  state: string;
  sent_events: number;
  queue?: { events: number; bytes: number; max_bytes: number; full: boolean };
}

export async function component(api: string, id: string): Promise<ComponentState> {
  const list = (await (await fetch(`${api}/components`)).json()) as ComponentState[];
  const found = list.find((c) => c.id === id);
  if (!found) throw new Error(`no component ${id} in /components`);
  return found;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
