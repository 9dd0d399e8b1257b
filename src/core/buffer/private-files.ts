import fs from 'node:fs';
import path from 'node:path';

/**
 * `data_dir` holds every queued event payload, checkpoints and the embedded PostgreSQL's
 * password: only the agent's user may read it (docs/operations.md#security-defaults). What the
 * agent creates is private whatever the umask; a directory the operator made is left as it is
 * (they may share it with a backup group on purpose) and only warned about.
 */

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** Create `dir` (and missing parents) as 0700; an existing directory is not changed. */
export function makePrivateDir(dir: string): void {
  // mkdirSync's mode is masked by the umask, which can only remove bits: 0700 stays 0700 or less.
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
}

/**
 * Create `file` as 0600 if it does not exist, so that SQLite opens an existing file: SQLite
 * creates a new database with 0644 (less the umask), and gives its `-wal` and `-shm` files the
 * mode of the database file, so the queue's files all end up 0600.
 */
export function createPrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, PRIVATE_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * A warning when `dir` exists and users outside its owner and group can read what is in it;
 * undefined otherwise. Group access is not warned about (the systemd unit's 0750 shares the
 * state directory with the service's group on purpose), nor a search-only bit for others, which
 * an embedded PostgreSQL running as its own user needs: files the agent created are 0600.
 */
export function dataDirExposure(dir: string): string | undefined {
  const modeOf = (p: string) => {
    try {
      return fs.statSync(p).mode & 0o777;
    } catch {
      return undefined;
    }
  };
  const mode = modeOf(dir);
  if (mode === undefined) return undefined; // the agent will create it private
  const listable = (mode & 0o004) !== 0;
  const queue = modeOf(path.join(dir, 'queue.db'));
  const queueReadable = (mode & 0o001) !== 0 && queue !== undefined && (queue & 0o004) !== 0;
  if (!listable && !queueReadable) return undefined;
  const octal = (m: number) => m.toString(8).padStart(4, '0');
  return queueReadable
    ? `data_dir "${dir}" (mode ${octal(mode)}) and its queue.db (mode ${octal(queue as number)}) can be read by other users, and the queue holds every event; \`chmod o-rwx ${dir}\` and \`chmod 600 ${dir}/queue.db*\` make them private`
    : `data_dir "${dir}" has mode ${octal(mode)}: other users can list it; \`chmod o-rwx ${dir}\` makes it private`;
}
