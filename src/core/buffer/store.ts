import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { ThermoclineError, CORE_ERRORS } from '../errors.js';
import { createPrivateFile, makePrivateDir } from './private-files.js';
import { RecentBudget } from './recent-batches.js';
import type { Json } from '../plugin/types.js';

/**
 * The agent's one SQLite database under `data_dir` (docs/ARCHITECTURE.md#data-flow): a queue table
 * per sink holding whole encoded batches, source checkpoints, the pinned delivery of each sink, the
 * dead-letter table and small per-component state. WAL mode; a batch and its source's checkpoint
 * commit in one transaction.
 *
 * Durability: with `synchronous = NORMAL` (the default) a committed transaction survives the
 * process being killed at any moment; after a power loss or kernel crash the last transactions
 * may be lost. `synchronous = FULL` also survives those, at the cost of an fsync per commit.
 */

export type Synchronous = 'normal' | 'full';

const SCHEMA_VERSION = 1;
/** How long a write waits for another connection's lock (`thermocline dead-letter`, export-rollups). */
const BUSY_TIMEOUT_MS = 5000;
/**
 * SQLite's page cache for the queue's connection, in KiB: SQLite's own default. better-sqlite3
 * builds SQLite with 16,000 KiB, which a queue fills with the pages of batches it has just written
 * and will not read again: a sink that keeps up reads them from memory (`RecentBatches`), and a
 * backlog is read once, front to back, through the operating system's file cache. Measured at a
 * steady 50,000 events/s, the smaller cache took 13–14 MiB off the agent's resident memory for the
 * same CPU, and appends and backlog drains ran at the same rates (docs/performance.md#steady-memory).
 */
export const QUEUE_PAGE_CACHE_KIB = 2000;

export interface QueuedBatch {
  seq: number;
  events: number;
  bytes: number;
  createdUs: number;
  /** The batch's upstream identity, if it came with one (src/core/delivery.ts). */
  origin?: string | null;
  data: Buffer;
  /** Read from memory, never stored and read back: its checksum need not be checked again. */
  verified?: boolean;
}

export interface DeadLetterInput {
  sink: string;
  seq: number;
  error: string;
  events: number;
  data: Buffer;
  /** Indices (within `data`) of the rejected rows with their reasons, when only some rows failed. */
  rows?: Array<{ index: number; reason: string }>;
}

interface SinkRow {
  id: number;
  name: string;
}

export class QueueStore {
  readonly db: Database.Database;
  readonly path: string;
  /**
   * A random id made when the database is created. With the sink id it qualifies batch
   * identities, so two agents that share a config (and so sink ids) never present the same
   * `(sink, seq)` to a shared destination.
   */
  instance = '';
  private readonly sinkIds = new Map<string, number>();
  /** What the disk queues of this database may keep of their newest batches in memory, together. */
  readonly recentBudget = new RecentBudget();

  static open(dataDir: string, options: { synchronous?: Synchronous } = {}): QueueStore {
    try {
      makePrivateDir(dataDir);
      fs.accessSync(dataDir, fs.constants.W_OK);
      createPrivateFile(path.join(dataDir, 'queue.db'));
    } catch (err) {
      throw new ThermoclineError(CORE_ERRORS.TC_DATA_DIR, `data_dir "${dataDir}" is not a writable directory: ${(err as Error).message}`, { cause: err });
    }
    const file = path.join(dataDir, 'queue.db');
    try {
      return new QueueStore(file, options.synchronous ?? 'normal');
    } catch (err) {
      if (err instanceof ThermoclineError) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
        throw new ThermoclineError(CORE_ERRORS.TC_QUEUE_CORRUPT, `queue database ${file} is corrupt (${(err as Error).message})`, { cause: err });
      }
      if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code.startsWith('SQLITE_IOERR')) {
        throw new ThermoclineError(CORE_ERRORS.TC_DATA_DIR, `cannot open queue database ${file}: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
  }

  private constructor(file: string, synchronous: Synchronous) {
    this.path = file;
    this.db = new Database(file);
    try {
      // Whole batches are large blobs: 64 KiB pages halve the pages each one spans and measured
      // twice the append rate of the 4 KiB default (300 vs 159 MB/s for 300 KB blobs). Only takes
      // effect when the file is created.
      this.db.pragma('page_size = 65536');
      // Pages freed by deliveries go back to the file system in small steps (`reclaim`), so the
      // file shrinks after a backlog drains (docs/operations.md#disk-space). Takes effect here
      // only for a new file; an older one is converted by `convertToIncrementalVacuum`.
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`cache_size = -${QUEUE_PAGE_CACHE_KIB}`);
      this.db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // Checkpoint about every 64 MiB of WAL (1000 pages of 64 KiB).
      this.db.pragma('wal_autocheckpoint = 1000');
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.migrate();
      this.convertToIncrementalVacuum();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  private migrate(): void {
    const db = this.db;
    db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    if (row && Number(row.value) !== SCHEMA_VERSION) {
      throw new ThermoclineError(CORE_ERRORS.TC_QUEUE_CORRUPT, `queue database ${this.path} has schema version ${row.value}; this agent understands ${SCHEMA_VERSION}`);
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS sinks (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS checkpoints (source TEXT PRIMARY KEY, value TEXT NOT NULL, updated_us INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS deliveries (sink_id INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS dead_letter (
        id INTEGER PRIMARY KEY, component TEXT NOT NULL, seq INTEGER, failed_us INTEGER NOT NULL,
        error TEXT NOT NULL, events INTEGER NOT NULL, rows TEXT, data BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS state (component TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (component, key));
    `);
    db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
    db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', ?)`).run(randomBytes(6).toString('hex'));
    this.instance = (db.prepare(`SELECT value FROM meta WHERE key = 'instance'`).get() as { value: string }).value;
    for (const s of db.prepare(`SELECT id, name FROM sinks`).all() as SinkRow[]) this.sinkIds.set(s.name, s.id);
  }

  /**
   * What opening the database had to do to it, for the runtime to log: a database made before
   * incremental vacuum was enabled is rewritten once with VACUUM (which needs free space about
   * its size); when that fails it keeps working, only without giving space back.
   */
  openNote: { converted: boolean; error?: string; seconds: number } | undefined;

  private convertToIncrementalVacuum(): void {
    if (this.db.pragma('auto_vacuum', { simple: true }) === 2) return;
    const started = performance.now();
    try {
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.exec('VACUUM');
      this.openNote = { converted: true, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      this.openNote = { converted: false, error: (err as Error).message, seconds: (performance.now() - started) / 1000 };
    }
  }

  /** Bytes the database holds on disk: the main file and its write-ahead log. */
  fileBytes(): { db: number; wal: number } {
    const size = (f: string) => {
      try {
        return fs.statSync(f).size;
      } catch {
        return 0;
      }
    };
    return { db: size(this.path), wal: size(`${this.path}-wal`) };
  }

  /** Pages on the free list: space a drain released that `reclaim` can give back. */
  freePages(): number {
    return this.db.pragma('freelist_count', { simple: true }) as number;
  }

  /** Pages the database has, free ones included (what the WAL holds counts, unlike the file's size). */
  pageCount(): number {
    return this.db.pragma('page_count', { simple: true }) as number;
  }

  private pageBytes: number | undefined;

  get pageSize(): number {
    this.pageBytes ??= this.db.pragma('page_size', { simple: true }) as number;
    return this.pageBytes;
  }

  /**
   * Give at most `pages` free pages back to the file system (SQLite's `incremental_vacuum`): it
   * moves pages from the end of the file into free slots and truncates it. Bounded, because it
   * runs on the event loop; returns the pages released.
   */
  reclaim(pages: number): number {
    const before = this.freePages();
    if (before === 0) return 0;
    this.withoutBusyWait(() => this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`));
    return before - this.freePages();
  }

  /**
   * Copy the write-ahead log into the database and truncate it to zero bytes. Returns false when
   * a reader (`thermocline dead-letter`) kept it from completing; the next idle moment retries.
   */
  truncateWal(): boolean {
    const [row] = this.withoutBusyWait(() => this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>);
    return row?.busy === 0;
  }

  /**
   * Copy what the WAL holds into the database without waiting for anyone. In WAL mode the file
   * only shrinks at a checkpoint, so running one after each bounded reclaim spreads the cost of
   * truncating the file over many ticks instead of one long automatic checkpoint.
   */
  checkpointPassive(): void {
    this.withoutBusyWait(() => this.db.pragma('wal_checkpoint(PASSIVE)'));
  }

  /**
   * Housekeeping gives up at once when another connection holds a lock: with the 5 s busy
   * timeout a TRUNCATE checkpoint would wait on the event loop for a `thermocline dead-letter`
   * reader to finish. It is retried at a later tick instead.
   */
  private withoutBusyWait<T>(fn: () => T): T {
    this.db.pragma('busy_timeout = 0');
    try {
      return fn();
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /** The queue table of a sink, created on first use. */
  sinkTable(sink: string): string {
    let id = this.sinkIds.get(sink);
    if (id === undefined) {
      id = Number(this.db.prepare(`INSERT INTO sinks (name) VALUES (?)`).run(sink).lastInsertRowid);
      this.sinkIds.set(sink, id);
    }
    const table = `q_${id}`;
    const created = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
    if (!created) {
      this.db.transaction(() => {
        this.db.exec(`CREATE TABLE ${table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, created_us INTEGER NOT NULL, events INTEGER NOT NULL, bytes INTEGER NOT NULL, data BLOB NOT NULL, origin TEXT)`);
        // Sequence numbers start at the creation time in microseconds, so a queue database that
        // was deleted and recreated never reuses a (sink, seq) that a destination's ledger or
        // deduplication window has already seen.
        this.db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`).run(table, Date.now() * 1000);
      })();
    } else if (!(this.db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = 'origin'`).get(table))) {
      // Queues made before batches could carry an upstream identity. A nullable column added at
      // the end keeps the database readable by the agent that made it.
      this.db.exec(`ALTER TABLE ${table} ADD COLUMN origin TEXT`);
    }
    return table;
  }

  sinkId(sink: string): number {
    this.sinkTable(sink);
    return this.sinkIds.get(sink) as number;
  }

  private checkpointStmt: Database.Statement | undefined;

  /** Call inside the transaction that appends the batch the checkpoint belongs to. */
  putCheckpoint(source: string, value: Json, updatedUs: number): void {
    this.checkpointStmt ??= this.db.prepare(
      `INSERT INTO checkpoints (source, value, updated_us) VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us`,
    );
    this.checkpointStmt.run(source, JSON.stringify(value), updatedUs);
  }

  getCheckpoint(source: string): Json | undefined {
    const row = this.db.prepare(`SELECT value FROM checkpoints WHERE source = ?`).get(source) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as Json) : undefined;
  }

  getState(component: string, key: string): Json | undefined {
    const row = this.db.prepare(`SELECT value FROM state WHERE component = ? AND key = ?`).get(component, key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as Json) : undefined;
  }

  setState(component: string, key: string, value: Json): void {
    this.db.prepare(`INSERT INTO state (component, key, value) VALUES (?, ?, ?) ON CONFLICT (component, key) DO UPDATE SET value = excluded.value`).run(component, key, JSON.stringify(value));
  }

  deleteState(component: string, key: string): void {
    this.db.prepare(`DELETE FROM state WHERE component = ? AND key = ?`).run(component, key);
  }

  allState(component: string): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const r of this.db.prepare(`SELECT key, value FROM state WHERE component = ?`).all(component) as Array<{ key: string; value: string }>) {
      out[r.key] = JSON.parse(r.value) as Json;
    }
    return out;
  }

  addDeadLetter(entry: DeadLetterInput): void {
    this.db
      .prepare(`INSERT INTO dead_letter (component, seq, failed_us, error, events, rows, data) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(entry.sink, entry.seq, Date.now() * 1000, entry.error, entry.events, entry.rows ? JSON.stringify(entry.rows) : null, entry.data);
  }

  deadLetterCount(component?: string): number {
    const row = (component === undefined
      ? this.db.prepare(`SELECT count(*) AS n FROM dead_letter`).get()
      : this.db.prepare(`SELECT count(*) AS n FROM dead_letter WHERE component = ?`).get(component)) as { n: number };
    return row.n;
  }

  deadLetters(component: string): Array<{ seq: number | null; error: string; events: number; rows: string | null; data: Buffer }> {
    return this.db.prepare(`SELECT seq, error, events, rows, data FROM dead_letter WHERE component = ? ORDER BY id`).all(component) as Array<{
      seq: number | null;
      error: string;
      events: number;
      rows: string | null;
      data: Buffer;
    }>;
  }

  /**
   * Bytes the dead-letter table holds: each entry's batch, rejected rows and message. What
   * `[queue.dead_letter] max_bytes` bounds.
   */
  deadLetterBytes(): number {
    const row = this.db.prepare(`SELECT coalesce(sum(length(data) + length(error) + coalesce(length(rows), 0)), 0) AS n FROM dead_letter`).get() as { n: number };
    return row.n;
  }

  /**
   * Delete dead letters older than `maxAgeUs` (by their failure time) and then, oldest first,
   * those beyond `maxBytes`, in one transaction. Returns how many each rule removed.
   */
  pruneDeadLetters(nowUs: number, maxAgeUs: number, maxBytes: number): { max_age: number; max_bytes: number } {
    return this.withoutBusyWait(() => this.pruneDeadLettersNow(nowUs, maxAgeUs, maxBytes));
  }

  private pruneDeadLettersNow(nowUs: number, maxAgeUs: number, maxBytes: number): { max_age: number; max_bytes: number } {
    return this.transaction(() => {
      const byAge = this.db.prepare(`DELETE FROM dead_letter WHERE failed_us < ?`).run(nowUs - maxAgeUs).changes;
      let held = 0;
      let cutoff: number | undefined;
      // Newest first: the first entry that does not fit, and everything older, goes.
      for (const r of this.db.prepare(`SELECT id, length(data) + length(error) + coalesce(length(rows), 0) AS n FROM dead_letter ORDER BY id DESC`).iterate() as IterableIterator<{ id: number; n: number }>) {
        held += r.n;
        if (held > maxBytes) {
          cutoff = r.id;
          break;
        }
      }
      const byBytes = cutoff === undefined ? 0 : this.db.prepare(`DELETE FROM dead_letter WHERE id <= ?`).run(cutoff).changes;
      return { max_age: byAge, max_bytes: byBytes };
    });
  }

  /** The names of the sinks that have a queue table here. */
  sinkNames(): string[] {
    return [...this.sinkIds.keys()];
  }

  /**
   * Move dead letter `id` back into a sink's queue: the entry is deleted and its batch appended
   * in one transaction, so a crash leaves it in exactly one of the two places and replaying the
   * same id twice finds nothing the second time. `to` defaults to the entry's own component when
   * that is a sink; entries of sources and transforms need it (docs/operations.md#dead-letters).
   * Only for a stopped agent: the running one keeps queue totals in memory.
   */
  replayDeadLetter(id: number, to: string | undefined, check: (data: Buffer) => number): { sink: string; seq: number; events: number } {
    return this.transaction(() => {
      const row = this.db.prepare(`SELECT component, data FROM dead_letter WHERE id = ?`).get(id) as { component: string; data: Buffer } | undefined;
      if (!row) throw new ThermoclineError(CORE_ERRORS.TC_DEAD_LETTER_REPLAY_REFUSED, `no dead letter with id ${id} (\`thermocline dead-letter\` lists them)`);
      const sinks = this.sinkNames();
      const sink = to ?? row.component;
      if (!sinks.includes(sink)) {
        const why =
          to === undefined
            ? `"${row.component}" is not a sink (a source or transform dead-lettered this batch before any sink saw it); choose the sink with --to`
            : `"${to}" has no queue in this data_dir`;
        throw new ThermoclineError(CORE_ERRORS.TC_DEAD_LETTER_REPLAY_REFUSED, `cannot replay dead letter ${id}: ${why} (sinks here: ${sinks.join(', ') || 'none'})`);
      }
      let events: number;
      try {
        events = check(row.data);
      } catch (err) {
        throw new ThermoclineError(CORE_ERRORS.TC_DEAD_LETTER_REPLAY_REFUSED, `cannot replay dead letter ${id}: its batch does not decode (${(err as Error).message})`, { cause: err });
      }
      const table = this.sinkTable(sink);
      const seq = Number(this.db.prepare(`INSERT INTO ${table} (created_us, events, bytes, data) VALUES (?, ?, ?, ?)`).run(Date.now() * 1000, events, row.data.length, row.data).lastInsertRowid);
      this.db.prepare(`DELETE FROM dead_letter WHERE id = ?`).run(id);
      return { sink, seq, events };
    });
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
