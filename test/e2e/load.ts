import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Agent } from './harness.js';
import { components, logLine, otlpBodies, otlpLog, postOtlp, span } from './harness.js';

/**
 * Continuous load for the end-to-end reliability tests: an application appending JSON
 * lines to a log file, OTLP exporters that retry like the OpenTelemetry SDKs, and helpers to
 * crash the agent the way a supervisor does.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export { prng } from '../../src/demo/checkout.js';

/**
 * An application writing `logLine(i)` to `<dir>/app.log` at a steady rate, whether the agent runs
 * or not. `rotate()` renames the file to `app.log.1` (logrotate's default "rename and create"):
 * the next write creates a new `app.log`.
 */
export class LogWriter {
  written = 0;
  readonly file: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    dir: string,
    private readonly linesPerSecond: number,
  ) {
    this.file = path.join(dir, 'app.log');
  }

  start(): void {
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((this.linesPerSecond * tickMs) / 1000));
    this.timer = setInterval(() => {
      let text = '';
      for (let k = 0; k < perTick; k++) text += logLine(this.written + k);
      // One write of whole lines: the reader never sees a torn line from us.
      fs.appendFileSync(this.file, text);
      this.written += perTick;
    }, tickMs);
  }

  rotate(): void {
    fs.renameSync(this.file, `${this.file}.1`);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** One OTLP export request and what happened to its attempts. */
export interface ExportRecord {
  signal: 'traces' | 'logs';
  /** Items `first .. first + count - 1` of the signal. */
  first: number;
  count: number;
  attempts: number;
  /** Attempts refused before the agent read them (connection refused) or answered non-200. */
  refused: number;
  /**
   * Attempts that failed without an answer after the request may have been read (connection
   * reset, socket closed): the agent may have committed them and died before replying.
   */
  ambiguous: number;
}

/** Whether the error means the connection was never made (nothing reached the agent). */
function connectionRefused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code === 'ECONNREFUSED';
}

/**
 * OTLP/HTTP exporters for traces and logs that behave like the OpenTelemetry SDKs: one request
 * in flight per signal, and a request is retried until it gets 200 (a refused or reset
 * connection while the agent is down, or a 503: wait, then send the same body again).
 */
export class OtlpLoad {
  readonly records: ExportRecord[] = [];
  private stopping = false;
  private abandoned = false;
  private loops: Array<Promise<void>> = [];

  constructor(
    private readonly base: string,
    private readonly itemsPerRequest: number,
    private readonly pauseMs: number,
  ) {}

  start(): void {
    this.loops = [this.loop('traces'), this.loop('logs')];
  }

  /** Stop after the requests in flight got their 200. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Give up at once, retries included (test teardown after a failure). */
  abandon(): void {
    this.stopping = true;
    this.abandoned = true;
  }

  private async loop(signal: 'traces' | 'logs'): Promise<void> {
    let next = 0;
    while (!this.stopping) {
      const record: ExportRecord = { signal, first: next, count: this.itemsPerRequest, attempts: 0, refused: 0, ambiguous: 0 };
      const ids = Array.from({ length: record.count }, (_, k) => next + k);
      const body = signal === 'traces' ? otlpBodies.traces(ids.map((i) => span(i))) : otlpBodies.logs(ids.map((i) => otlpLog(i)));
      next += record.count;
      this.records.push(record);
      while (!this.abandoned) {
        record.attempts++;
        try {
          const { status, retryAfter } = await postOtlp(this.base, signal, body);
          if (status === 200) break;
          record.refused++;
          // Honour Retry-After as the SDKs do, capped to keep the test short.
          await sleep(Math.min(1000, Number(retryAfter ?? 0) * 1000 || 200));
        } catch (err) {
          if (connectionRefused(err)) record.refused++;
          else record.ambiguous++;
          await sleep(200);
        }
      }
      await sleep(this.pauseMs);
    }
  }
}

/**
 * The processes of the embedded PostgreSQL of `dataDir` (the postmaster, or an initdb), found by
 * their command line naming its pgdata directory (a scratch path unique to the test).
 */
export function embeddedPostgresPids(dataDir: string): number[] {
  const pgdata = path.join(dataDir, 'postgres', 'pgdata');
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // A zombie (state Z) is dead already, waiting for a parent that may never reap it.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && args.some((a) => a === pgdata || a.endsWith(`=${pgdata}`))) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** SIGKILL by pid; a process that already ended is fine. */
export function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as { code?: string }).code !== 'ESRCH') throw err;
  }
}

/**
 * SIGKILL the agent. `withPostgres`: its embedded PostgreSQL dies in the same instant, as the
 * kernel does to a container whose main process dies and systemd to the rest of the unit's
 * control group. Without it the postmaster lives on, orphaned (kill -9 of the node process, the
 * OOM killer), and the next start must stop it and take the cluster over.
 */
export async function crash(agent: Agent, options: { withPostgres: boolean }): Promise<void> {
  const before = embeddedPostgresPids(agent.dataDir);
  const killed = agent.kill('SIGKILL');
  if (options.withPostgres) before.forEach(killPid);
  await killed;
  // A server the agent was spawning at that instant.
  if (options.withPostgres) embeddedPostgresPids(agent.dataDir).forEach(killPid);
}

/**
 * The sinks whose delivery was pinned in the queue database (written, or being written, and not
 * yet acknowledged) when the agent died: the restart replays exactly those. Read with the agent
 * stopped, read-only, so that the agent itself recovers the database at its next start.
 */
export function pinnedDeliveries(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'queue.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`SELECT s.name FROM deliveries d JOIN sinks s ON s.id = d.sink_id ORDER BY s.name`).all() as Array<{ name: string }>;
    return rows.map((r) => r.name);
  } finally {
    db.close();
  }
}

/**
 * Wait until the given sources have sent nothing new for `quietMs` while every sink queue is
 * empty: everything they produced has been delivered. Unlike `drained`, sources that never go
 * quiet (a scrape every second) are not waited for.
 */
export async function settled(agent: Pick<Agent, 'api'>, sources: string[], quietMs = 3000, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  let since = Date.now();
  for (;;) {
    const list = await components(agent.api);
    const sent = JSON.stringify(list.filter((c) => c.kind === 'source' && sources.includes(c.id)).map((c) => c.sent_events));
    const queued = list.reduce((n, c) => n + (c.queue?.events ?? 0), 0);
    if (sent !== last) {
      last = sent;
      since = Date.now();
    } else if (queued === 0 && Date.now() - since >= quietMs) return;
    if (Date.now() > until) {
      const states = list.map((c) => ({ id: c.id, state: c.state, queue: c.queue?.events, sent: c.sent_events }));
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${sources.join(', ')} to be delivered: ${JSON.stringify(states)}`);
    }
    await sleep(100);
  }
}
