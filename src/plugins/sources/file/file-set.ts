import fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { promisify } from 'node:util';
import { errorMessage, type Json, type RateLimitedLog, type SourceContext } from '../../../index.js';
import { decodeCheckpoint, type CheckpointEntry } from './checkpoint.js';
import type { FileConfig } from './config.js';
import type { SourceCounters } from './counters.js';
import { walk, type Found } from './discovery.js';
import type { PathFilter } from './glob.js';
import { type Fingerprint, fingerprint, identityKey, sameStart } from './identity.js';
import { type Adoption, findDisplaced, findMissedRotations, type Displaced } from './resume.js';
import { TrackedFile } from './tracked-file.js';
import { FILE_SOURCE_ERRORS } from './errors.js';

const fstat = promisify(fs.fstat);
const openFile = promisify(fs.open);

/** Files released lately, remembered so a search for missed rotations does not read them again. */
const RELEASED_REMEMBERED = 256;
/**
 * Paths left empty by a rotation are searched at each look for this long, at most this many of
 * them (the oldest are dropped first): long enough for a writer that rotates in bursts, short
 * enough that a file named like a rotation and made much later is not read as one.
 */
const VACATED_REMEMBERED = 256;
const VACATED_FOR_MS = 60_000;

/** What a start needs from the previous run's checkpoint. */
export interface Startup {
  /** Checkpoint entries not yet matched to a file. */
  entries: Map<string, CheckpointEntry>;
  /** Entries whose file was rotated away or truncated while the agent was stopped. */
  displaced: Displaced[];
  firstRun: boolean;
  savedAtMs: number | undefined;
  /** When the previous run's latest look at the included paths began (checkpoint `w`). */
  walkedAtMs: number | undefined;
}

export function startupFrom(checkpoint: Json | undefined, ctx: Pick<SourceContext, 'logger'>): Startup {
  const decoded = decodeCheckpoint(checkpoint);
  if (decoded.kind === 'invalid') {
    ctx.logger.error(
      { code: FILE_SOURCE_ERRORS.TC_FILE_CHECKPOINT, reason: decoded.reason },
      `the checkpoint of a previous run cannot be read (${decoded.reason}); starting over as on a first run`,
    );
  }
  return decoded.kind === 'ok'
    ? { entries: decoded.entries, displaced: [], firstRun: false, savedAtMs: decoded.savedAtMs, walkedAtMs: decoded.walkedAtMs }
    : { entries: new Map(), displaced: [], firstRun: true, savedAtMs: undefined, walkedAtMs: undefined };
}

/**
 * The set of files being read: which files the include patterns match, which of them
 * are already known (by identity, from this run or the checkpoint of the last one), and which
 * were rotated away or deleted. Reading them is the tailer's job.
 */
export class FileSet {
  /** By identity; insertion order is reading order. */
  readonly files = new Map<string, TrackedFile>();
  /** `ignore_older_secs`: identity → size when it was left out. */
  private readonly skipped = new Map<string, number>();
  /** The files holding a descriptor, least recently active first: the first is closed first. */
  private readonly holding = new Map<string, TrackedFile>();
  /** Identity → first bytes of the files released lately, oldest first (`findMissedRotations`). */
  private readonly released = new Map<string, Fingerprint>();
  /**
   * Included paths whose file was rotated away and where no file stood at the latest look → when
   * that was found (ms), oldest first. The next file may be created at any time (a writer that
   * reopens lazily, logrotate's `nocreate`) and rotated away again before a look sees it; with no
   * tracked file going missing, nothing else would make the source look beside the path for it.
   */
  private readonly vacated = new Map<string, number>();
  /**
   * When the latest completed walk started (ms): a file created and written since then stood at
   * its path, if at all, only where no walk saw it (`findMissedRotations`, and after a restart
   * through the checkpoint).
   */
  walkStartedAt: number | undefined;

  constructor(
    private readonly config: FileConfig,
    private readonly filter: PathFilter,
    private readonly ctx: Pick<SourceContext, 'logger' | 'metrics'>,
    private readonly counters: SourceCounters,
    private readonly log: RateLimitedLog,
    private readonly stopping: () => boolean,
    /** Called when what is tracked changed: the checkpoint must be written even without new lines. */
    private readonly onChange: () => void,
  ) {}

  /** Walk the include patterns: track new files, notice the ones rotated away or deleted. */
  async scan(startup?: Startup): Promise<void> {
    const previousWalk = this.walkStartedAt;
    const started = Date.now();
    const found = await walk(this.filter);
    const seen = new Set<string>();
    for (const item of found) {
      const key = identityKey(item.stat);
      if (seen.has(key)) continue; // a second path (hard link, symlink) to a file already tracked
      seen.add(key);
      const f = this.files.get(key);
      if (f) {
        f.location = item.path;
        if (f.gone) {
          f.gone = false; // renamed back under an included path
          this.onChange();
        }
        continue;
      }
      await this.track(item, key, startup);
      if (this.stopping()) return;
    }
    this.walkStartedAt = started;
    for (const key of this.skipped.keys()) if (!seen.has(key)) this.skipped.delete(key);
    const occupied = new Set(found.map((item) => item.path));
    // Paths left empty by an earlier rotation are searched again, as long as they stay empty and
    // once more when a file stands there again: a file can have come and gone since the last look.
    const searched = [...this.vacated.keys()];
    for (const [p, since] of this.vacated) if (occupied.has(p) || started - since > VACATED_FOR_MS) this.vacated.delete(p);
    for (const f of this.files.values()) {
      if (seen.has(f.key) || f.gone) continue;
      if (await this.stillAt(f.location, f.key)) continue; // the walk missed it (an unreadable directory)
      f.gone = true;
      f.goneAt = Date.now();
      this.onChange();
      this.counters.rotated.inc();
      searched.push(f.path);
      if (!occupied.has(f.path)) this.leftEmpty(f.path);
    }
    if (searched.length > 0 && previousWalk !== undefined) await this.adoptMissedRotations(searched, previousWalk, occupied);
  }

  /** `p` was found empty after its file was rotated away: search beside it at the next looks. */
  private leftEmpty(p: string): void {
    this.vacated.delete(p);
    this.vacated.set(p, Date.now());
    if (this.vacated.size > VACATED_REMEMBERED) this.vacated.delete(this.vacated.keys().next().value as string);
  }

  /**
   * A rotation was found, or a path a rotation left empty was looked at again: a file that lived
   * under the same path only since the previous walk may have been rotated away before any walk
   * saw it. Read such files whole, as rotated files of that path
   * (docs/delivery.md#what-is-not-covered says what this search cannot see).
   */
  private async adoptMissedRotations(rotatedPaths: readonly string[], sinceMs: number, walked: ReadonlySet<string>): Promise<void> {
    for (const a of await findMissedRotations(rotatedPaths, new Set(this.files.keys()), sinceMs, this.released, walked)) {
      if (await this.followRotated(a)) {
        this.counters.rotated.inc();
        this.onChange();
        this.ctx.logger.info(
          { path: a.path, label: a.label, reason: a.why },
          `reading ${a.path}: it was at ${a.label} only briefly and rotated away before it was seen`,
        );
      }
    }
  }

  /**
   * Follow `a`, a file found away from its path, as rotated: read from `a.offset` to its end under
   * the label `a.label`, then released. False when it cannot be opened as that file.
   */
  private async followRotated(a: Adoption): Promise<boolean> {
    const fd = await this.openIfSame(a.path, a.key);
    if (fd === undefined) return false;
    try {
      const size = Number((await fstat(fd)).size);
      const f = new TrackedFile(a.key, a.label, fd, await fingerprint(fd, size, this.config.fingerprint_bytes), a.offset, a.path);
      f.gone = true;
      f.goneAt = Date.now();
      this.files.set(a.key, f);
      // Beyond the limit (many files found at once): tracked closed, reopened at its location
      // when its turn to be read comes, as a newly found file is.
      if (this.holding.size >= this.config.max_open_files) this.close(f);
      else this.touch(f);
      return true;
    } catch (err) {
      fs.close(fd, () => undefined);
      this.unreadable(a.path, err);
      return false;
    }
  }

  /**
   * The watcher reports a rename-and-create of a watched path as a "change": true when one of
   * `paths` now holds a file that is not being read (so a rescan is due).
   */
  async holdsUntracked(paths: Iterable<string>): Promise<boolean> {
    for (const p of paths) {
      try {
        if (!this.files.has(identityKey(await fs.promises.stat(p, { bigint: true })))) return true;
      } catch {
        return true;
      }
    }
    return false;
  }

  private async stillAt(p: string, key: string): Promise<boolean> {
    try {
      return identityKey(await fs.promises.stat(p, { bigint: true })) === key;
    } catch {
      return false;
    }
  }

  /** Start following a newly found file, from its checkpoint if it has one. */
  private async track(item: Found, key: string, startup?: Startup): Promise<void> {
    const entry = startup?.entries.get(key);
    const olderThan = this.config.ignore_older_secs;
    if (!entry && olderThan !== undefined && Number(item.stat.mtimeMs) < Date.now() - olderThan * 1000) {
      if (!this.skipped.has(key)) this.skipped.set(key, Number(item.stat.size));
      return;
    }
    const fd = await this.openIfSame(item.path, key);
    if (fd === undefined) return;
    try {
      const size = Number((await fstat(fd)).size);
      let offset = 0;
      let label = item.path;
      const skippedAt = this.skipped.get(key);
      if (entry && entry.offset <= size && (await sameStart(fd, size, entry.fp))) {
        offset = entry.offset; // a file from the previous run
        label = entry.path;
      } else if (entry) {
        // Truncated, or a reused inode, while the agent was stopped: read it from the start, and
        // look for where the unread rest of the old content went (copytruncate's copy).
        startup?.displaced.push({ key, entry });
      } else if (skippedAt !== undefined) {
        offset = skippedAt <= size ? skippedAt : 0;
      } else if (startup?.firstRun && this.config.read_from === 'end') {
        offset = size;
      }
      startup?.entries.delete(key);
      this.skipped.delete(key);
      const fp = await fingerprint(fd, size, this.config.fingerprint_bytes);
      const f = new TrackedFile(key, label, fd, fp, offset, item.path);
      this.files.set(key, f);
      // Found beyond the limit: tracked closed, opened when its turn to be read comes.
      if (this.holding.size >= this.config.max_open_files) this.close(f);
      else this.touch(f);
      this.onChange();
    } catch (err) {
      fs.close(fd, () => undefined);
      this.unreadable(item.path, err);
    }
  }

  /** Open `p` if it is still the file with identity `key`. */
  private async openIfSame(p: string, key: string): Promise<number | undefined> {
    let fd: number;
    try {
      fd = await openFile(p, 'r');
    } catch (err) {
      this.unreadable(p, err);
      return undefined;
    }
    try {
      if (identityKey(await fstatBig(fd)) === key) return fd;
    } catch {
      // fall through
    }
    fs.close(fd, () => undefined); // replaced between the walk and the open: the next scan sees the new one
    return undefined;
  }

  private unreadable(p: string, err: unknown): void {
    this.ctx.metrics.error('open');
    this.log.warn(`open:${p}`, { code: FILE_SOURCE_ERRORS.TC_FILE_UNREADABLE, path: p, err: errorMessage(err) }, `cannot read ${p}: ${errorMessage(err)}`);
  }

  /**
   * Checkpoint entries not found under an included path, and files truncated while the agent
   * was stopped: find where their unread lines went (`resume.ts`) and finish those files first.
   */
  async resumeDisplaced(startup: Startup): Promise<void> {
    for (const [key, e] of startup.entries) {
      // Still there but no longer included: the configuration changed, unless it was being finished.
      if (!e.rotated && (await this.stillAt(e.path, key))) continue;
      startup.displaced.push({ key, entry: e });
    }
    if (startup.displaced.length === 0) return;
    const occupied = new Set([...this.files.values()].map((f) => f.location));
    for (const d of startup.displaced) if (!occupied.has(d.entry.path)) this.leftEmpty(d.entry.path);
    const { adopt, vanished } = await findDisplaced(startup.displaced, new Set(this.files.keys()), {
      savedAtMs: startup.savedAtMs,
      walkedAtMs: startup.walkedAtMs,
    });
    for (const a of adopt) {
      if (await this.followRotated(a)) {
        this.ctx.logger.info({ path: a.path, label: a.label, offset: a.offset, reason: a.why }, `finishing ${a.path}, rotated while the agent was stopped`);
      }
    }
    if (vanished.length > 0) {
      const files = vanished.slice(0, 20).map((d) => ({ path: d.entry.path, offset: d.entry.offset }));
      this.ctx.logger.warn(
        { code: FILE_SOURCE_ERRORS.TC_FILE_VANISHED, files, count: vanished.length },
        `${vanished.length} file(s) being read before the restart are gone (deleted, compressed, moved to another directory, or truncated without a copy); lines written to them after the recorded offsets were not read`,
      );
    }
  }

  /** Rotated files first: they are finished before their successors. */
  goneFirst(): void {
    const ordered = [...this.files.values()].sort((a, b) => Number(b.gone) - Number(a.gone));
    this.files.clear();
    for (const f of ordered) this.files.set(f.key, f);
  }

  /** Forget `f` (its last lines are committed) and close it. */
  release(f: TrackedFile): void {
    this.files.delete(f.key);
    this.remember(f);
    if (f.fd !== undefined) this.close(f);
    this.counters.trackedFiles(this.files.size);
  }

  private remember(f: TrackedFile): void {
    this.released.delete(f.key);
    this.released.set(f.key, f.fp);
    if (this.released.size > RELEASED_REMEMBERED) this.released.delete(this.released.keys().next().value as string);
  }

  closeAll(): void {
    for (const f of this.files.values()) if (f.fd !== undefined) fs.close(f.fd, () => undefined);
    this.files.clear();
    this.holding.clear();
    this.counters.openFiles(0);
    this.counters.trackedFiles(0);
  }

  // ---- staying within max_open_files ---------------------------------------------------------

  /** `f` was just read from: it is closed last. */
  touch(f: TrackedFile): void {
    if (f.fd === undefined) return;
    this.holding.delete(f.key);
    this.holding.set(f.key, f);
    this.counters.openFiles(this.holding.size);
    this.counters.trackedFiles(this.files.size);
  }

  /** Close `f`'s descriptor, keeping everything known about it in memory and in the checkpoint. */
  private close(f: TrackedFile): void {
    if (f.fd !== undefined) fs.close(f.fd, () => undefined);
    f.fd = undefined;
    f.closedAt = Date.now();
    this.holding.delete(f.key);
    this.counters.openFiles(this.holding.size);
    this.counters.trackedFiles(this.files.size);
  }

  /**
   * Close the least recently active files until one more fits. Files rotated away are never
   * closed: their path no longer leads to them. False when nothing could be closed.
   */
  private makeRoom(): boolean {
    for (const f of this.holding.values()) {
      if (this.holding.size < this.config.max_open_files) break;
      if (!f.gone) {
        this.close(f);
        this.counters.closedForLimit.inc();
      }
    }
    return this.holding.size < this.config.max_open_files;
  }

  /**
   * Give a closed file its descriptor back when it has something to read: 'open' then, 'idle'
   * when it has not changed, 'busy' when no descriptor can be freed this round, 'released' when
   * it was rotated away or deleted while closed and had to be replaced (see `displacedWhileClosed`).
   */
  async reopen(f: TrackedFile): Promise<'open' | 'idle' | 'busy' | 'released'> {
    let st: BigIntStats | undefined;
    try {
      st = await fs.promises.stat(f.location, { bigint: true });
    } catch {
      st = undefined;
    }
    if (!st || identityKey(st) !== f.key) return this.displacedWhileClosed(f);
    // The same size can still hide a rewrite (copytruncate, then as much written again); the
    // modification time after the close gives it away.
    if (Number(st.size) === f.readPos && Number(st.mtimeMs) <= f.closedAt) return 'idle';
    if (!this.makeRoom()) return 'busy';
    const fd = await this.openIfSame(f.location, f.key);
    if (fd === undefined) return 'idle';
    f.fd = fd;
    f.closedAt = 0;
    this.touch(f);
    return 'open';
  }

  /**
   * A closed file is no longer at its path. Where did its lines go? The same search as after a
   * restart (`resume.ts`), from the moment it was closed: its own inode renamed beside it is
   * finished from where it was; a copytruncate copy is read from the last emitted line (what was
   * held in memory beyond it is dropped and read again from the copy). Nothing found: the lines
   * written between the close and the rotation are lost, and said so.
   */
  private async displacedWhileClosed(f: TrackedFile): Promise<'open' | 'busy' | 'released'> {
    const entry = { path: f.location, offset: f.checkpointOffset, fp: f.fp, rotated: true };
    const others = new Set([...this.files.keys()].filter((k) => k !== f.key));
    const { adopt, vanished } = await findDisplaced([{ key: f.key, entry }], others, { savedAtMs: f.closedAt, walkedAtMs: undefined });
    const own = adopt.find((a) => a.key === f.key);
    if (own) {
      f.location = own.path;
      if (!f.gone) {
        f.gone = true;
        f.goneAt = Date.now();
        this.counters.rotated.inc();
      }
      if (!this.makeRoom()) return 'busy';
      const fd = await this.openIfSame(own.path, f.key);
      if (fd !== undefined) {
        f.fd = fd;
        f.closedAt = 0;
        this.touch(f);
        this.onChange();
        return 'open';
      }
    }
    this.files.delete(f.key);
    this.remember(f);
    this.counters.trackedFiles(this.files.size);
    this.onChange();
    for (const a of adopt) {
      if (a.key === f.key || this.files.has(a.key)) continue;
      await this.followRotated({ ...a, label: f.path });
    }
    if (vanished.length > 0 && !own) {
      this.log.warn(
        'vanished-while-closed',
        { code: FILE_SOURCE_ERRORS.TC_FILE_VANISHED, path: f.path, offset: f.checkpointOffset },
        `${f.path} was closed to stay within max_open_files and then rotated or deleted where it cannot be found; lines written to it after the close were not read (raise max_open_files, or include the rotated names)`,
      );
    }
    return 'released';
  }
}

function fstatBig(fd: number): Promise<BigIntStats> {
  return new Promise((resolve, reject) => fs.fstat(fd, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}
