import fs from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import type { FSWatcher } from 'chokidar';
import { aborted, BatchWriter, errorMessage, type LogEvent, raceTimeout, RateLimitedLog, ShutdownError, sleep, type SourceContext } from '../../../index.js';
import { encodeCheckpoint } from './checkpoint.js';
import type { FileConfig } from './config.js';
import { SourceCounters } from './counters.js';
import { watchRoots } from './discovery.js';
import { FileSet, startupFrom } from './file-set.js';
import { PathFilter } from './glob.js';
import { fingerprint, sameStart } from './identity.js';
import { LineSplitter, type LineHandler } from './line-splitter.js';
import { Multiline } from './multiline.js';
import { EventBuilder } from './parse/event-builder.js';
import type { TrackedFile } from './tracked-file.js';
import { FILE_SOURCE_ERRORS } from './errors.js';
import { countOf, eventsOf, type Lines } from './lines.js';

const read = promisify(fs.read);
const fstat = promisify(fs.fstat);

/**
 * Bytes per `fs.read`: big enough to keep syscalls and promise hops off the per-line cost, small
 * enough that the lines of one read (parsed and committed before the event loop turns again) leave
 * sinks sharing the thread their turns while a large file is read: with 4 MiB reads a clickhouse
 * sink took 1.4-2.0 s instead of 0.1-0.2 s to spool its first inserts (docs/performance.md, the
 * file-clickhouse row).
 */
const CHUNK_BYTES = 1024 * 1024;
/**
 * Lines per emitted batch (one queue row). Enough to amortize the commit, few enough that a
 * batch's events die young: measured with the whole agent loaded, 8192-line batches survived
 * into the old generation and tripled the source's garbage-collection time; 2048 did not.
 */
const BATCH_EVENTS = 2048;
/** Most bytes read from one file per round, so one busy file does not starve the others. */
const ROUND_BYTES = 64 * 1024 * 1024;
/** With nothing to do, check the open files this often even if the watcher said nothing. */
const IDLE_POLL_MS = 1000;
/** Watcher events trigger a rescan at most this often. */
const MIN_RESCAN_MS = 100;
/** Wait after a failed commit (not a shutdown) before trying the same batch again. */
const EMIT_RETRY_MS = 1000;
/**
 * How often lines refused for a full queue are offered again. Cheap: the emitter keeps the
 * refused batch's routing, so a retry only asks its queues for room.
 */
const HELD_RETRY_MS = 200;
/**
 * Lines held for full queues, across all files, beyond which no file is read until some are
 * committed: each waiting file holds one batch, and without this bound a thousand files bound for
 * one full queue would hold a thousand batches.
 */
const MAX_HELD_EVENTS = 4 * BATCH_EVENTS;

class Stopped extends Error {}

/**
 * The file source's engine: discovers files, reads them in big chunks, turns lines
 * into events (or, for JSON, writes them straight into an encoded batch: lines.ts) and commits each
 * batch together with the checkpoint of every tracked file (`ctx.emit` or `ctx.emitEncoded`). A file's checkpoint moves only with the commit of its lines.
 * When some lines go to a full queue, the batch is committed file by file: a file whose lines
 * are refused keeps them (`TrackedFile.held`, one batch at most) and is not read further until
 * they are committed, while the other files go on. Memory stays bounded.
 *
 * Everything runs in one loop, so discovery, reading, rotation and checkpointing never race.
 */
export class Tailer {
  private readonly filter: PathFilter;
  private readonly set: FileSet;
  private readonly splitter: LineSplitter;
  private readonly multiline: Multiline | undefined;
  private readonly builder: EventBuilder;
  private readonly counters: SourceCounters;
  private readonly log: RateLimitedLog;
  private readonly buf: Buffer;
  private events: LogEvent[] = [];
  /**
   * With `format = "json"` (and no multiline): the pending lines, written into one batch as they are
   * read instead of into `events` (docs/ARCHITECTURE.md#batches-taken-as-they-arrived).
   */
  private readonly writer: BatchWriter | undefined;
  /** Which file the pending lines come from: consecutive runs, each up to its `end` index. */
  private runs: Array<{ file: TrackedFile; end: number }> = [];
  private bytesRead = 0;
  /** Lines held back in this round so far (see MAX_HELD_EVENTS). */
  private heldNow = 0;
  /** The checkpoint changed without new events (a file appeared, was truncated or released). */
  private dirty = false;
  private toRelease: TrackedFile[] = [];
  private lastScan = 0;
  private rescanDue = true;
  /** Paths the watcher reported as changed since the last round. */
  private readonly changedPaths = new Set<string>();
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private readonly stopController = new AbortController();
  private watcher: FSWatcher | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: FileConfig,
    private readonly ctx: SourceContext,
  ) {
    this.filter = new PathFilter(config.include, config.exclude, process.cwd());
    this.builder = new EventBuilder(config, config.host ?? os.hostname());
    const writer = !config.multiline && config.format === 'json' && this.builder.encodesBytes ? new BatchWriter() : undefined;
    this.writer = writer;
    const added = (f: TrackedFile) => {
      const n = this.pending;
      const last = this.runs[this.runs.length - 1];
      if (last?.file === f) last.end = n;
      else this.runs.push({ file: f, end: n });
    };
    const emitLine = (f: TrackedFile, text: string, readUs: number) => {
      const event = this.builder.build(text, f.path, readUs);
      if (writer) writer.add(event);
      else this.events.push(event);
      added(f);
    };
    this.multiline = config.multiline ? new Multiline(config.multiline, emitLine) : undefined;
    const handler: LineHandler = this.multiline ?? { line: (f, text, _start, _bytes, readUs) => emitLine(f, text, readUs) };
    if (writer) {
      // Most JSON lines go into the batch straight from the file's bytes (parse/json-bytes.ts).
      handler.lineBytes = (f, data, start, end, ascii, readUs) => {
        if (!this.builder.encodeBytes(data, start, end, ascii, f.path, readUs, writer)) return false;
        added(f);
        return true;
      };
    } else if (!this.multiline && config.format === 'json') {
      handler.lineBytes = (f, data, start, end, ascii, readUs) => {
        const event = this.builder.fromBytes(data, start, end, ascii, f.path, readUs);
        if (event === undefined) return false;
        this.events.push(event);
        added(f);
        return true;
      };
    }
    this.splitter = new LineSplitter(config.max_line_bytes, config.on_long_line, handler);
    this.counters = new SourceCounters(ctx.metrics, this.splitter.counts, this.builder.counts);
    this.log = new RateLimitedLog(ctx.logger);
    this.set = new FileSet(
      config,
      this.filter,
      ctx,
      this.counters,
      this.log,
      () => this.stopping,
      () => (this.dirty = true),
    );
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, 2 * config.max_line_bytes + 65_536));
  }

  start(): void {
    try {
      this.watcher = watchRoots(this.filter, {
        rescan: () => {
          this.rescanDue = true;
          this.wake();
        },
        changed: (p) => {
          this.changedPaths.add(p);
          this.wake();
        },
        error: (err) => this.log.warn('watch', { err: errorMessage(err) }, `file watcher error (the periodic rescan continues): ${errorMessage(err)}`),
      });
    } catch (err) {
      this.log.warn('watch', { err: errorMessage(err) }, `cannot watch the include directories; relying on the periodic rescan: ${errorMessage(err)}`);
    }
    this.running = this.run().catch((err: unknown) => {
      if (!(err instanceof Stopped)) this.ctx.logger.error({ err }, `file source stopped on an unexpected error: ${errorMessage(err)}`);
    });
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.wake();
    await this.watcher?.close().catch(() => undefined);
    this.watcher = undefined;
    await this.running;
    this.toRelease = []; // still in the set: closed with the rest
    this.set.closeAll();
  }

  /** Lines read and not yet committed. */
  private get pending(): number {
    return this.writer ? this.writer.count : this.events.length;
  }

  /** The pending lines, handed over: the next lines start a new batch. */
  private takeLines(): Lines {
    const writer = this.writer;
    if (!writer) {
      const events = this.events;
      this.events = [];
      return { events };
    }
    const count = writer.count;
    return count === 0 ? { events: [] } : { encoded: [{ data: writer.finish() }], count };
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted || this.ctx.signal.aborted;
  }

  private wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    const startup = startupFrom(this.ctx.checkpoint, this.ctx);
    await this.scan(startup);
    await this.set.resumeDisplaced(startup);
    this.set.goneFirst();
    // Record where reading starts (with `read_from = "end"` a crash before the first line must not move it).
    this.dirty = true;
    while (!this.stopping) {
      let progressed = false;
      try {
        progressed = await this.round();
      } catch (err) {
        if (err instanceof Stopped) throw err;
        // Keep tailing: an unexpected error (EMFILE, a bug) must not silently end the source.
        this.ctx.metrics.error('internal');
        this.log.error('round', { err: errorMessage(err) }, `file source error; retrying in a second: ${errorMessage(err)}`);
        await sleep(EMIT_RETRY_MS, this.stopController.signal);
      }
      if (!progressed) await this.idle();
    }
  }

  /** Rescan if due, read every file, run the timers, commit. True when bytes were read. */
  private async round(): Promise<boolean> {
    if (this.changedPaths.size > 0) {
      const paths = [...this.changedPaths];
      this.changedPaths.clear();
      if (await this.set.holdsUntracked(paths)) this.rescanDue = true;
    }
    const now = Date.now();
    if ((this.rescanDue && now - this.lastScan >= MIN_RESCAN_MS) || now - this.lastScan >= this.config.glob_interval_secs * 1000) await this.scan();
    let progressed = await this.commitHeld();
    let held = 0;
    for (const f of this.set.files.values()) held += f.held ? countOf(f.held.lines) : 0;
    this.heldNow = 0;
    for (const f of [...this.set.files.values()]) {
      if (this.stopping || held + this.heldNow >= MAX_HELD_EVENTS) break;
      if (f.held) continue;
      if (await this.readFile(f)) progressed = true;
    }
    this.timers(Date.now());
    await this.flush();
    this.counters.heldLines.set(held + this.heldNow);
    return progressed;
  }

  private async scan(startup?: Parameters<FileSet['scan']>[0]): Promise<void> {
    this.lastScan = Date.now();
    this.rescanDue = false;
    await this.set.scan(startup);
  }

  // ---- reading ------------------------------------------------------------------------------

  /** Read what `f` has beyond `readPos` (up to a per-round budget). True when bytes were read. */
  private async readFile(f: TrackedFile): Promise<boolean> {
    if (f.fd === undefined) {
      // Closed to stay within max_open_files: reopened only when it changed and a slot is free.
      const state = await this.set.reopen(f);
      if (state === 'released') this.dirty = true;
      if (state !== 'open' || f.fd === undefined) return false;
    }
    const fd = f.fd;
    let size: number;
    try {
      size = (await fstat(fd)).size;
      if (size < f.readPos) await this.truncated(f, fd, size);
      else if (size > f.readPos && f.atEof && !(await sameStart(fd, size, f.fp))) await this.truncated(f, fd, size);
    } catch (err) {
      this.readError(f, err);
      return false;
    }
    if (size <= f.readPos) {
      f.atEof = true;
      return false;
    }
    f.atEof = false;
    let budget = ROUND_BYTES;
    const full = () => this.pending >= BATCH_EVENTS;
    while (f.readPos < size && budget > 0 && !this.stopping) {
      const tailLen = f.tail ? f.tail.copy(this.buf, 0) : 0;
      let n: number;
      try {
        n = (await read(fd, this.buf, tailLen, Math.min(this.buf.length - tailLen, size - f.readPos), f.readPos)).bytesRead;
      } catch (err) {
        this.readError(f, err);
        return false;
      }
      if (n === 0) break;
      const base = f.readPos - tailLen;
      f.readPos += n;
      f.lastGrowth = Date.now();
      this.bytesRead += n;
      budget -= n;
      const data = this.buf.subarray(0, tailLen + n);
      const readUs = f.lastGrowth * 1000;
      let pos = 0;
      for (;;) {
        pos = this.splitter.lines(f, data, base, pos, readUs, full);
        if (!full()) break;
        await this.flush();
        if (f.held) {
          // Its lines wait for room: what follows them is read again once they are committed,
          // and counted as read then.
          this.bytesRead -= f.readPos - f.lineStart;
          f.tail = undefined;
          f.readPos = f.lineStart;
          f.atEof = false;
          return true;
        }
      }
      this.splitter.keepRest(f, data, pos);
    }
    f.atEof = f.readPos >= size;
    if (f.fp.len < this.config.fingerprint_bytes && f.fp.len < size) {
      // The fingerprint of a short file grows with it, up to the window.
      f.fp = await fingerprint(fd, size, this.config.fingerprint_bytes);
    }
    this.set.touch(f);
    return true;
  }

  private readError(f: TrackedFile, err: unknown): void {
    this.ctx.metrics.error('read');
    this.log.error(`read:${f.path}`, { code: FILE_SOURCE_ERRORS.TC_FILE_UNREADABLE, path: f.path, err: errorMessage(err) }, `cannot read ${f.path}: ${errorMessage(err)}`);
  }

  /** Smaller than what was read, or different from its first bytes: copytruncate. Start over. */
  private async truncated(f: TrackedFile, fd: number, size: number): Promise<void> {
    const now = Date.now() * 1000;
    // What was held back is real data from before the truncation: hand it on.
    this.splitter.flushPartial(f, now);
    this.multiline?.finish(f);
    f.readPos = 0;
    f.lineStart = 0;
    f.atEof = false;
    f.fp = await fingerprint(fd, size, this.config.fingerprint_bytes);
    this.dirty = true;
    this.counters.truncated.inc();
    this.ctx.logger.info({ path: f.path }, 'file was truncated (copytruncate rotation?); reading it again from the start');
  }

  /** Partial-line and multiline timeouts; release files that were rotated away and are finished. */
  private timers(now: number): void {
    const partialMs = this.config.partial_line_timeout_secs * 1000;
    const rotateMs = this.config.rotate_wait_secs * 1000;
    for (const f of this.set.files.values()) {
      if (!f.atEof || f.held) continue;
      const dueAt = this.multiline?.dueAt(f);
      if (dueAt !== undefined && now >= dueAt) this.multiline?.finish(f);
      if (partialMs > 0 && f.hasPartial && now - f.lastGrowth >= partialMs) {
        this.splitter.flushPartial(f, now * 1000);
        this.counters.partialFlushed.inc();
      }
      // A closed file's end is unknown until it is reopened (or found gone for good by `reopen`).
      if (f.gone && f.fd !== undefined && now - Math.max(f.lastGrowth, f.goneAt) >= rotateMs) {
        this.splitter.flushPartial(f, now * 1000);
        this.multiline?.finish(f);
        this.toRelease.push(f);
      }
    }
  }

  /** The earliest time (ms) one of `timers` has something to do. */
  private nextTimer(): number {
    let next = Infinity;
    const partialMs = this.config.partial_line_timeout_secs * 1000;
    for (const f of this.set.files.values()) {
      if (f.held) next = Math.min(next, Date.now() + HELD_RETRY_MS);
      if (!f.atEof || f.held) continue;
      const dueAt = this.multiline?.dueAt(f);
      if (dueAt !== undefined) next = Math.min(next, dueAt);
      if (partialMs > 0 && f.hasPartial) next = Math.min(next, f.lastGrowth + partialMs);
      if (f.gone && f.fd !== undefined) next = Math.min(next, Math.max(f.lastGrowth, f.goneAt) + this.config.rotate_wait_secs * 1000);
    }
    return next;
  }

  private async idle(): Promise<void> {
    if (this.woken && !this.rescanDue) {
      this.woken = false;
      return;
    }
    const now = Date.now();
    const nextScan = this.lastScan + (this.rescanDue ? MIN_RESCAN_MS : this.config.glob_interval_secs * 1000);
    const wait = Math.max(0, Math.min(IDLE_POLL_MS, this.nextTimer() - now, nextScan - now));
    const woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
    await raceTimeout(wait, woken, aborted(this.stopController.signal), aborted(this.ctx.signal));
    this.wakeUp = undefined;
    this.woken = false;
  }

  // ---- committing ---------------------------------------------------------------------------

  /** Commit the pending lines with the checkpoint of every file, then advance (docs/delivery.md#how). */
  private async flush(): Promise<void> {
    if (this.pending === 0 && !this.dirty && this.toRelease.length === 0) return;
    const lines = this.takeLines();
    const runs = this.runs;
    this.runs = [];
    if ((await this.commit(lines)) === 'full') {
      // Some line goes to a full queue; only the files whose lines do are held back
      // (docs/delivery.md#when-a-destination-is-down).
      const files = new Set(runs.map((r) => r.file));
      // A file is released only with its last lines committed: if they are held, it is not finished.
      // Kept tracked, it is released in a later round (`timers` finds it again).
      this.toRelease = this.toRelease.filter((f) => !files.has(f));
      const [only] = files;
      if (files.size === 1 && only) {
        // One file's lines alone were just refused as they are: hold that very batch (and its routing).
        only.held = { lines, offset: only.checkpointOffset };
        this.heldNow += countOf(lines);
      } else if (files.size > 1) {
        const pending = new Set(files);
        for (const [f, events] of linesByFile(eventsOf(lines), runs)) {
          pending.delete(f);
          const own: Lines = { events };
          if ((await this.commit(own, f, pending)) === 'full') {
            f.held = { lines: own, offset: f.checkpointOffset };
            this.heldNow += events.length;
          }
        }
      }
      if (this.dirty || this.toRelease.length > 0) await this.commit({ events: [] });
    }
    this.dirty = false;
    this.ctx.metrics.received(0, this.bytesRead);
    this.bytesRead = 0;
    this.counters.flush();
    for (const f of this.toRelease) this.set.release(f);
    this.toRelease = [];
  }

  /** Offer every file's held lines again; true when some were committed. */
  private async commitHeld(): Promise<boolean> {
    let committed = false;
    // Lines left from a round that failed part-way are not committed: their files stay put.
    const pending = new Set(this.runs.map((r) => r.file));
    for (const f of this.set.files.values()) {
      const held = f.held;
      if (!held || (await this.commit(held.lines, f, pending)) === 'full') continue;
      f.held = undefined;
      committed = true;
    }
    return committed;
  }

  /**
   * Commit `lines` with the checkpoint, without waiting for room. `only` set: the lines are
   * that file's alone, so only its entry moves (to its held offset, if it has some); the files in
   * `pending` have lines still uncommitted and stay at their committed offsets, as do held files.
   * On success every entry written becomes its file's `committedOffset`.
   */
  private async commit(lines: Lines, only?: TrackedFile, pending: ReadonlySet<TrackedFile> = new Set()): Promise<'accepted' | 'full'> {
    // Files being released are left out: their last lines are committed by now or in this batch.
    const keep = [...this.set.files.values()].filter((f) => !this.toRelease.includes(f));
    const offsets = keep.map((f) => {
      if (f === only) return f.held ? f.held.offset : f.checkpointOffset;
      return f.held || pending.has(f) ? f.committedOffset : f.checkpointOffset;
    });
    const checkpoint = encodeCheckpoint(keep.map((f, i) => [f.key, { path: f.path, offset: offsets[i] as number, fp: f.fp, rotated: f.gone }]), Date.now(), this.set.walkStartedAt);
    for (;;) {
      if (this.stopping) throw new Stopped();
      try {
        const outcome =
          'events' in lines ? await this.ctx.emit(lines.events, checkpoint, { wait: false }) : await this.ctx.emitEncoded(lines.encoded, checkpoint, { wait: false });
        if (outcome === 'full') return 'full';
        break;
      } catch (err) {
        if (err instanceof ShutdownError || this.stopping) throw new Stopped();
        this.ctx.metrics.error('emit');
        this.log.error('emit', { err: errorMessage(err) }, `committing a batch of lines failed; retrying: ${errorMessage(err)}`);
        await sleep(EMIT_RETRY_MS, this.stopController.signal);
      }
    }
    keep.forEach((f, i) => (f.committedOffset = offsets[i] as number));
    return 'accepted';
  }
}

/** The lines of each file, in order; `runs` says which file each stretch of `events` came from. */
function linesByFile(events: LogEvent[], runs: ReadonlyArray<{ file: TrackedFile; end: number }>): Map<TrackedFile, LogEvent[]> {
  const out = new Map<TrackedFile, LogEvent[]>();
  let start = 0;
  for (const r of runs) {
    const list = out.get(r.file);
    const part = events.slice(start, r.end);
    if (list) list.push(...part);
    else out.set(r.file, part);
    start = r.end;
  }
  return out;
}
