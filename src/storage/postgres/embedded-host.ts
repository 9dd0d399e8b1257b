/**
 * What the embedded PostgreSQL needs from the host before it starts: the user it runs as when the
 * agent is root (PostgreSQL refuses root), directories that user can traverse, the cluster's
 * password, and an orphaned server out of the way.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { StorageError, messageOf } from '../errors.js';

export const EMBEDDED_USER = 'postgres';

/** As root, the uid/gid PostgreSQL will run as; undefined when not root. */
export async function serverOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const run = promisify(execFile);
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', EMBEDDED_USER]), run('id', ['-g', EMBEDDED_USER])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch (err) {
    throw new StorageError('TC_PG_EMBEDDED_ROOT', `running as root and there is no "${EMBEDDED_USER}" system user to run PostgreSQL as`, { cause: err });
  }
}

export async function allowTraverse(dir: string): Promise<void> {
  const mode = (await stat(dir)).mode & 0o7777;
  if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
}

/**
 * The directories above data_dir are the operator's, so they are checked, not changed: a parent
 * the postgres user cannot traverse (a `mktemp -d`, a 0700 home) would otherwise surface as
 * initdb's bare "Permission denied" on every retry.
 */
export async function assertAncestorsTraversable(dataDir: string, owner: { uid: number; gid: number }): Promise<void> {
  let dir = path.dirname(path.resolve(dataDir));
  for (;;) {
    const info = await stat(dir);
    const bit = info.uid === owner.uid ? 0o100 : info.gid === owner.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) {
      throw new StorageError(
        'TC_PG_EMBEDDED_ROOT',
        `running as root, the embedded PostgreSQL runs as the "${EMBEDDED_USER}" user, which cannot reach ${dataDir}: ${dir} (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}) is not traversable by it. Run the agent as a non-root user (the systemd unit does), move data_dir, or \`chmod o+x ${dir}\``,
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** The server's password: created with the cluster, read back on every later start. */
export async function credentials(baseDir: string, initialised: boolean): Promise<string> {
  const file = path.join(baseDir, 'credentials.json');
  if (initialised) {
    try {
      const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'password' in parsed && typeof parsed.password === 'string') return parsed.password;
    } catch (err) {
      throw new StorageError('TC_PG_EMBEDDED_START_FAILED', `cannot read ${file} (the embedded server's password): ${messageOf(err)}`, { cause: err });
    }
    throw new StorageError('TC_PG_EMBEDDED_START_FAILED', `${file} holds no password`);
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${JSON.stringify({ user: EMBEDDED_USER, password })}\n`, { mode: 0o600 });
  return password;
}

/**
 * An agent killed with SIGKILL (or by the OOM killer) cannot stop its embedded PostgreSQL: the
 * postmaster lives on, reparented, and holds `postmaster.pid`, so every later start would fail
 * with "lock file already exists" until someone stops it by hand. Such an orphan is recognised by
 * its command line (it serves this pgdata) and its parent (no longer a Node process: init or a
 * container's subreaper) and stopped with PostgreSQL's fast shutdown; crash recovery at the next
 * start replays its WAL, so nothing committed is lost. A postmaster still owned by a live Node
 * process (an agent, or a `thermocline` command) is left alone and named in the error. Linux only
 * (/proc); elsewhere PostgreSQL's own lock-file error stands.
 */
export async function stopOrphanedServer(pgdata: string, logger: { warn(obj: object, msg: string): void }): Promise<void> {
  const pid = Number.parseInt((await readFile(path.join(pgdata, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return;
  const info = await processInfo(pid);
  if (!info || info.state === 'Z' || !info.cmdline.includes(pgdata)) return; // a stale file: PostgreSQL handles that itself
  const parent = info.ppid > 1 ? await processInfo(info.ppid) : undefined;
  if (parent && /(^|\/)(node|thermocline)(\s|$)/.test(parent.cmdline)) {
    throw new StorageError(
      'TC_PG_EMBEDDED_START_FAILED',
      `the embedded PostgreSQL in ${pgdata} is already running for another process (postmaster pid ${pid}, started by pid ${info.ppid}: ${parent.cmdline.slice(0, 120)}); stop that process first`,
    );
  }
  logger.warn({ pid, pgdata }, 'stopping an embedded PostgreSQL left running by an agent that was killed');
  for (const [signal, waitMs] of [['SIGINT', 30_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      const now = await processInfo(pid);
      if (!now || now.state === 'Z') return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function processInfo(pid: number): Promise<{ ppid: number; state: string; cmdline: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const [state = '', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim();
    return { ppid: Number(ppid), state, cmdline };
  } catch {
    return undefined;
  }
}
