import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { Logger } from 'pino';

export interface NofileLimits {
  soft: number;
  hard: number;
}

/** The open-files limits of `pid` from /proc (Linux); undefined elsewhere. "unlimited" is Infinity. */
export function readNofile(pid: number | 'self' = 'self'): NofileLimits | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const num = (v: string) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: num(m[1] as string), hard: num(m[2] as string) };
}

/**
 * Raise the process's soft RLIMIT_NOFILE to its hard limit, as systemd's default soft limit of
 * 1024 is lower than an agent tailing many files needs while its hard limit (524288 on current
 * systemd) is not. Node's own start-up already raises it where the kernel lets it (node.cc,
 * PlatformInit), so usually this only logs the limit; where it did not (an unlimited hard limit
 * above `fs.nr_open`, another runtime), there is no setrlimit in Node's API, so this asks
 * util-linux's `prlimit` to do it for the pid (raising a soft limit up to the hard one needs no
 * privilege). Never fails the start: without `prlimit` or /proc it logs what stays and how to
 * raise it (`LimitNOFILE=` in the unit, docs/operations.md#open-files).
 */
export async function raiseNofileLimit(logger: Logger, options: { prlimit?: string; pid?: number } = {}): Promise<NofileLimits | undefined> {
  const pid = options.pid ?? process.pid;
  const before = readNofile(pid);
  if (!before) return undefined;
  if (before.soft >= before.hard) {
    logger.info({ soft: before.soft, hard: before.hard }, `open files limit: ${before.soft} (the hard limit)`);
    return before;
  }
  const hard = Number.isFinite(before.hard) ? String(before.hard) : 'unlimited';
  const error = await new Promise<Error | undefined>((resolve) => {
    execFile(options.prlimit ?? 'prlimit', ['--pid', String(pid), `--nofile=${hard}:${hard}`], { timeout: 5000 }, (err) => resolve(err ?? undefined));
  });
  const after = readNofile(pid) ?? before;
  if (error || after.soft === before.soft) {
    logger.warn(
      { soft: after.soft, hard: after.hard, err: error?.message },
      `could not raise the open files limit (soft ${after.soft}) to its hard limit ${after.hard}${error ? `: ${error.message}` : ''}; set LimitNOFILE= in the service unit if the file source needs more`,
    );
  } else {
    logger.info({ before: before.soft, soft: after.soft, hard: after.hard }, `raised the open files limit from ${before.soft} to ${after.soft}`);
  }
  return after;
}
