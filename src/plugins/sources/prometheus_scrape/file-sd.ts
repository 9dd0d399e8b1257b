import fs from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { errorMessage, type Labels } from '../../../index.js';
import type { TargetGroup } from './targets.js';

/**
 * Target discovery from files in Prometheus' file-SD format (discovery/file/file.go): a list of
 * `{ targets: ["host:port", ...], labels: { ... } }` groups, JSON or YAML. Files are re-read when
 * they change on disk (chokidar watches their directories) and every `refresh_interval`. As in
 * Prometheus, a file that cannot be read or parsed keeps the targets it gave last time, and a
 * file that disappears takes its targets with it.
 */

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const groupsSchema = z.array(
  z.strictObject({
    targets: z.array(z.string()),
    labels: z.record(z.string(), z.string()).optional(),
  }),
);

const EXTENSIONS = ['.json', '.yml', '.yaml'];

/** Problems with a `files` pattern, for the plugin's pure `validate`. */
export function patternProblem(pattern: string): string | undefined {
  if (!EXTENSIONS.some((ext) => pattern.endsWith(ext))) return `"${pattern}" must end in .json, .yml or .yaml`;
  if (/[*?[\]]/.test(path.dirname(pattern))) return `"${pattern}": wildcards are only allowed in the last path segment (the file name)`;
  return undefined;
}

function globRegex(name: string): RegExp {
  const body = name
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

interface Pattern {
  dir: string;
  name: RegExp;
}

/** The groups of one target file. Throws an Error whose message says what is wrong. */
export function parseTargetFile(file: string, text: string): TargetGroup[] {
  if (text.trim() === '') throw new Error('the file is empty (write [] for no targets)');
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${errorMessage(err)}`);
  }
  const parsed = groupsSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
    throw new Error(
      `not in the file-SD format (a list of { targets, labels } groups): ${where ? `${where.replace(/^\./, '')}: ` : ''}${issue?.message ?? 'invalid'}`,
    );
  }
  parsed.data.forEach((g, i) => {
    for (const name of Object.keys(g.labels ?? {})) {
      if (!LABEL_NAME.test(name)) throw new Error(`[${i}].labels: "${name}" is not a valid label name (letters, digits and "_", not starting with a digit)`);
    }
  });
  return parsed.data.map((g) => ({ targets: g.targets, labels: (g.labels ?? {}) as Labels }));
}

export interface FileSdOptions {
  files: readonly string[];
  refreshMs: number;
  /** The groups of every file, after each refresh that changed something. */
  onGroups(groups: TargetGroup[]): void;
  onError(file: string, message: string): void;
}

export class FileSd {
  private readonly patterns: Pattern[];
  private readonly lastGood = new Map<string, TargetGroup[]>();
  private lastJson = '';
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private pending = false;
  private stopped = false;

  constructor(private readonly options: FileSdOptions) {
    this.patterns = options.files.map((f) => {
      const abs = path.resolve(f);
      return { dir: path.dirname(abs), name: globRegex(path.basename(abs)) };
    });
  }

  /** Start watching, then read every file once (in this order, so no change falls in between). */
  async start(): Promise<void> {
    this.stopped = false;
    const dirs = [...new Set(this.patterns.map((p) => p.dir))];
    const watcher = watch(dirs, { ignoreInitial: true, depth: 0 });
    this.watcher = watcher;
    watcher.on('all', (_event, file) => {
      if (this.matches(path.resolve(file))) this.schedule();
    });
    watcher.on('error', (err) => this.options.onError(dirs.join(', '), `watching failed: ${errorMessage(err)}`));
    // Events are only reliable once chokidar's initial scan is done; the periodic refresh covers
    // the rare case where it never reports ready.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      watcher.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await this.refresh();
    this.timer = setInterval(() => this.schedule(), this.options.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.close();
    await this.refreshing;
  }

  private matches(file: string): boolean {
    return this.patterns.some((p) => path.dirname(file) === p.dir && p.name.test(path.basename(file)));
  }

  /** Coalesce bursts of file events (an editor writes, renames, chmods) into one re-read. */
  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.refresh(), 50);
  }

  /** Re-read all files; refreshes never run concurrently (one asked for meanwhile runs after). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.pending = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.pending = false;
          await this.readAll();
        } while (this.pending && !this.stopped);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async readAll(): Promise<void> {
    const present = new Set<string>();
    for (const p of this.patterns) {
      let names: string[];
      try {
        names = await fs.readdir(p.dir);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOENT') this.options.onError(p.dir, `cannot list the directory: ${errorMessage(err)}`);
        continue;
      }
      for (const name of names.sort()) if (p.name.test(name)) present.add(path.join(p.dir, name));
    }
    for (const file of present) {
      try {
        this.lastGood.set(file, parseTargetFile(file, await fs.readFile(file, 'utf8')));
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') continue; // removed meanwhile
        this.options.onError(file, errorMessage(err));
      }
    }
    for (const file of [...this.lastGood.keys()]) if (!present.has(file)) this.lastGood.delete(file);
    const groups = [...this.lastGood.keys()].sort().flatMap((f) => this.lastGood.get(f) ?? []);
    const json = JSON.stringify(groups);
    if (json === this.lastJson || this.stopped) return;
    this.lastJson = json;
    this.options.onGroups(groups);
  }
}
