/**
 * The demo's own directory (`./data-demo` by default): the agent's data_dir, with the log
 * directory the file source reads and the targets directory of file_sd inside it. It is cleared at
 * start and kept afterwards so that the user can look at it; a marker file makes sure the demo
 * only ever clears a directory it made itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DemoError } from './errors.js';

const MARKER = '.thermocline-demo';

export interface Scratch {
  /** Absolute: the data_dir of the in-process agent. */
  readonly dir: string;
  /** The directory the default config's file source reads (`THERMOCLINE_LOG_DIR`). */
  readonly logDir: string;
  /** Where file_sd looks for Prometheus targets (`THERMOCLINE_TARGETS_DIR`). */
  readonly targetsDir: string;
  /** The in-process agent's own log (JSON lines). */
  readonly agentLog: string;
}

/** `./data-demo` for a path under the working directory, else the absolute path. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  if (rel === '') return '.';
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : `./${rel}`;
}

/** The PostgreSQL of an earlier demo still running on `dir` (a demo killed with SIGKILL leaves it). */
function livePostgres(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(dir, 'postgres', 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: it exists, owned by another user (as root, PostgreSQL runs as "postgres"; not the case here).
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

export function prepareScratch(dirArg: string): Scratch {
  const dir = path.resolve(dirArg);
  const shown = displayPath(dir);
  let entries: string[] | undefined;
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new DemoError(`--data-dir ${shown} is a file, not a directory`);
    if (code !== 'ENOENT') throw new DemoError(`cannot read ${shown}: ${(err as Error).message}`, { cause: err });
  }
  if (entries !== undefined && entries.length > 0) {
    if (!entries.includes(MARKER)) {
      throw new DemoError(
        `${shown} is not empty and was not made by \`thermocline demo\`: the demo clears its directory at start, so it leaves this one alone. Remove it, or pass --data-dir with a new directory`,
      );
    }
    const pid = livePostgres(dir);
    if (pid !== undefined) {
      throw new DemoError(
        `${shown} is in use: its embedded PostgreSQL (pid ${pid}) is still running, from a demo that is running or was killed. Stop it (kill ${pid}) or pass another --data-dir`,
      );
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const scratch: Scratch = { dir, logDir: path.join(dir, 'log'), targetsDir: path.join(dir, 'targets'), agentLog: path.join(dir, 'agent.log') };
  fs.mkdirSync(scratch.logDir, { recursive: true });
  fs.mkdirSync(scratch.targetsDir, { recursive: true });
  fs.writeFileSync(path.join(dir, MARKER), 'made by `thermocline demo`, which clears this directory when it runs again\n');
  return scratch;
}
