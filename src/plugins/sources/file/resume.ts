import fs from 'node:fs';
import path from 'node:path';
import type { CheckpointEntry } from './checkpoint.js';
import { type Fingerprint, headOfPath, identityKey, pathStartsWith } from './identity.js';

/**
 * After a restart: where did the lines of files that were rotated while the agent was stopped
 * go? (a restart may fall within any rotation scheme). A checkpoint entry is *displaced* when
 * its file is no longer under its path (renamed away) or was truncated in place (copytruncate).
 * Rotation schemes keep rotated files in the same directory under a name that starts with the
 * original (`app.log.1`, `app.log-20250101`), so that is where we look:
 *
 * - the entry's own inode under a new name: finish it from the recorded offset;
 * - otherwise a file whose first bytes match the entry's fingerprint and that is at least as
 *   long as the offset: copytruncate's copy, which holds the unread rest: read it from the offset;
 * - and any other such file the agent cannot have seen (`unseen`: created and written since its
 *   latest look, or written since the last checkpoint where creation times are not recorded):
 *   the file was rotated more than once while the agent was down, or stood at its path only
 *   between its last look and the crash. Read it whole.
 *
 * Compressed files are skipped (logrotate's `delaycompress` keeps the latest one plain).
 */

export interface Displaced {
  key: string;
  entry: CheckpointEntry;
}

export interface Adoption {
  path: string;
  key: string;
  offset: number;
  /** The path its lines are labelled with: the entry's. */
  label: string;
  mtimeMs: number;
  why: 'rotated' | 'copy' | 'written while stopped' | 'rotated before it was seen';
}

interface Candidate {
  path: string;
  key: string;
  size: number;
  mtimeMs: number;
  /** When it was created (ms); 0 where the file system does not record it. */
  bornMs: number;
}

const COMPRESSED_NAME = /\.(gz|tgz|zst|bz2|xz|lz4|lzma|zip|7z)$/i;
const COMPRESSED_MAGIC = [Buffer.from([0x1f, 0x8b]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from('BZh'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a])];

async function looksCompressed(p: string): Promise<boolean> {
  if (COMPRESSED_NAME.test(p)) return true;
  const head = await headOfPath(p, 5).catch(() => Buffer.alloc(0));
  return COMPRESSED_MAGIC.some((m) => head.length >= m.length && head.subarray(0, m.length).equals(m));
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch {
    return [];
  }
}

/**
 * Regular files in `dir` whose name starts with `prefix`, other than those already tracked.
 * `names`: the directory's entries, when they were just read for another prefix; `walked`: paths
 * a look just found (and so tracked), left out without a stat.
 */
async function siblings(
  dir: string,
  prefix: string,
  tracked: ReadonlySet<string>,
  names?: readonly string[],
  walked?: ReadonlySet<string>,
): Promise<Candidate[]> {
  names ??= await namesIn(dir);
  const out: Candidate[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const p = path.join(dir, name);
    if (walked?.has(p)) continue;
    try {
      const st = await fs.promises.stat(p, { bigint: true });
      const key = identityKey(st);
      if (st.isFile() && !tracked.has(key)) out.push({ path: p, key, size: Number(st.size), mtimeMs: Number(st.mtimeMs), bornMs: Number(st.birthtimeMs) });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** What a search for files the agent did not see is measured from (the last checkpoint's `t` and `w`). */
export interface UnseenSince {
  /** When the agent last wrote down what it had read (ms). */
  savedAtMs: number | undefined;
  /** When its latest look at the included paths began (ms), if recorded. */
  walkedAtMs: number | undefined;
}

/**
 * How far a file's recorded times may lag the clock the agent reads (`Date.now()`). File systems
 * stamp files from the kernel's coarse clock, which advances once a tick (4 ms at 250 Hz, 10 ms
 * at 100 Hz): a file created just after a look began can carry a time a few milliseconds before
 * it (measured on ext4: 53 files in 2,000, by up to 5 ms). It must stay well below the least time
 * between two looks (100 ms), so that a file a look saw is never taken for one created after the
 * next look began.
 */
export const FS_CLOCK_LAG_MS = 20;

/**
 * A file the agent cannot have seen: created and written since its latest look began, where the
 * file system records creation (it stood at its path, if ever, only between looks; a file it
 * read and released was seen by a look that began after its creation, and a live log beside the
 * path is older), otherwise written since the last checkpoint. Both by the file system's clock
 * (`FS_CLOCK_LAG_MS`).
 */
function unseen(c: Candidate, since: UnseenSince): boolean {
  if (c.bornMs > 0 && since.walkedAtMs !== undefined) {
    const from = since.walkedAtMs - FS_CLOCK_LAG_MS;
    return c.bornMs >= from && c.mtimeMs >= from;
  }
  return since.savedAtMs !== undefined && c.mtimeMs >= since.savedAtMs - FS_CLOCK_LAG_MS;
}

/**
 * Files to finish for the displaced entries, oldest first, and the entries whose lines could not
 * be found.
 */
export async function findDisplaced(
  displaced: readonly Displaced[],
  tracked: ReadonlySet<string>,
  since: UnseenSince,
): Promise<{ adopt: Adoption[]; vanished: Displaced[] }> {
  const adopt: Adoption[] = [];
  const vanished: Displaced[] = [];
  const taken = new Set(tracked);
  const groups = new Map<string, { dir: string; prefix: string; label: string; candidates: Candidate[] }>();
  for (const d of displaced) {
    const dir = path.dirname(d.entry.path);
    const prefix = path.basename(d.entry.path);
    const groupKey = `${dir}\0${prefix}`;
    let g = groups.get(groupKey);
    if (!g) {
      g = { dir, prefix, label: d.entry.path, candidates: await siblings(dir, prefix, tracked) };
      groups.set(groupKey, g);
    }
    const mine = g.candidates.find((c) => c.key === d.key && !taken.has(c.key));
    let found: Adoption | undefined;
    if (mine && ((await pathStartsWith(mine.path, d.entry.fp).catch(() => false)) || d.entry.fp.len === 0)) {
      found = {
        path: mine.path,
        key: mine.key,
        offset: d.entry.offset <= mine.size ? d.entry.offset : 0,
        label: d.entry.path,
        mtimeMs: mine.mtimeMs,
        why: 'rotated',
      };
    } else {
      for (const c of g.candidates) {
        if (taken.has(c.key) || c.size < d.entry.offset) continue;
        if (await pathStartsWith(c.path, d.entry.fp)) {
          found = { path: c.path, key: c.key, offset: d.entry.offset, label: d.entry.path, mtimeMs: c.mtimeMs, why: 'copy' };
          break;
        }
      }
    }
    if (found) {
      taken.add(found.key);
      adopt.push(found);
    } else {
      vanished.push(d);
    }
  }
  if (since.savedAtMs !== undefined || since.walkedAtMs !== undefined) {
    for (const g of groups.values()) {
      for (const c of g.candidates) {
        if (taken.has(c.key) || !unseen(c, since) || (await looksCompressed(c.path))) continue;
        taken.add(c.key);
        adopt.push({ path: c.path, key: c.key, offset: 0, label: g.label, mtimeMs: c.mtimeMs, why: 'written while stopped' });
      }
    }
  }
  adopt.sort((a, b) => a.mtimeMs - b.mtimeMs);
  return { adopt, vanished };
}

/**
 * While running: files that lived under a rotated path only between two looks, and were rotated
 * away before the source saw them (a writer that rotates twice within one rescan, or one that
 * creates its next file only with its next line and rotates it soon after). The rule is the
 * restart's for files written while stopped: beside the path, a name that starts with its name,
 * not tracked, not compressed, not empty, and written since the look before the one that found
 * the rotation. Where the file system records when a file was created, it must also have been
 * created since that look: a file that stood at the path then was seen, and a live log beside it
 * whose name happens to start the same (`app.log.err`) is older.
 * A file this source already read and released is left out by its identity and first bytes, so
 * it is not read twice (`released`).
 */
export async function findMissedRotations(
  rotatedPaths: Iterable<string>,
  tracked: ReadonlySet<string>,
  sinceMs: number,
  released: ReadonlyMap<string, Fingerprint>,
  /** Paths the look that called this just found: tracked by it, not candidates. */
  walked: ReadonlySet<string> = new Set(),
): Promise<Adoption[]> {
  const adopt: Adoption[] = [];
  const taken = new Set(tracked);
  // One read of each directory: many paths of one directory can be searched at a look.
  const listed = new Map<string, Promise<string[]>>();
  for (const label of new Set(rotatedPaths)) {
    const dir = path.dirname(label);
    let names = listed.get(dir);
    if (!names) listed.set(dir, (names = namesIn(dir)));
    for (const c of await siblings(dir, path.basename(label), tracked, await names, walked)) {
      if (taken.has(c.key) || c.size === 0 || !unseen(c, { savedAtMs: sinceMs, walkedAtMs: sinceMs }) || (await looksCompressed(c.path))) continue;
      const readBefore = released.get(c.key);
      if (readBefore && (await pathStartsWith(c.path, readBefore).catch(() => false))) continue;
      taken.add(c.key);
      adopt.push({ path: c.path, key: c.key, offset: 0, label, mtimeMs: c.mtimeMs, why: 'rotated before it was seen' });
    }
  }
  return adopt.sort((a, b) => a.mtimeMs - b.mtimeMs);
}
