import fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { PathFilter } from './glob.js';

/**
 * Finding files: a walk of the include patterns' base directories (the source of truth, run at
 * start and every `glob_interval_secs`), and a chokidar watcher whose events only *hint* that a
 * rescan or a read is due. The watcher makes rotation and new lines visible at once; the walk
 * makes correctness independent of it (network file systems, inotify limits, missed events).
 */

export interface Found {
  path: string;
  stat: BigIntStats;
}

/** Every regular file (or symlink to one) the filter includes, once per path. */
export async function walk(filter: PathFilter): Promise<Found[]> {
  const out: Found[] = [];
  const visit = async (dir: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      return; // missing or unreadable: files under it are checked one by one before being called gone
    }
    for (const e of entries) {
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        // Links to files are followed (Kubernetes' /var/log/containers/*.log); links to
        // directories are not walked into, which rules out cycles.
        isDir = false;
        isFile = true;
      }
      if (isDir) {
        if (filter.mayContain(p)) await visit(p);
      } else if (isFile && filter.matches(p)) {
        try {
          const stat = await fs.promises.stat(p, { bigint: true });
          if (stat.isFile()) out.push({ path: p, stat });
        } catch {
          // Vanished between readdir and stat, or a dangling link.
        }
      }
    }
  };
  for (const root of filter.roots()) await visit(root);
  return out;
}

export interface WatchHints {
  /** A file or directory appeared or disappeared: rescan. */
  rescan(): void;
  /** A file changed: read it (and check it is still the file being read: a rename-and-create can look like a change). */
  changed(path: string): void;
  error(err: unknown): void;
}

/** A watcher over the include roots, pruned to directories that can hold matches. */
export function watchRoots(filter: PathFilter, hints: WatchHints): FSWatcher {
  const ignored = (p: string, stats?: fs.Stats): boolean => {
    if (!stats) return false;
    if (stats.isDirectory()) return !filter.mayContain(p);
    return !filter.matches(p);
  };
  const watcher = watch(filter.roots(), {
    ignoreInitial: true,
    persistent: false,
    // Rotation is a rename followed by a create: we want both events, not one merged "change".
    atomic: false,
    ignored,
  });
  watcher.on('add', () => hints.rescan());
  watcher.on('unlink', () => hints.rescan());
  watcher.on('addDir', () => hints.rescan());
  watcher.on('unlinkDir', () => hints.rescan());
  watcher.on('change', (p) => hints.changed(p));
  watcher.on('error', (err) => hints.error(err));
  // Until chokidar has read the roots, a rotation makes no event (ignoreInitial takes what its
  // first read finds as already there): once the watch is in place, one rescan finds it.
  watcher.on('ready', () => hints.rescan());
  return watcher;
}
