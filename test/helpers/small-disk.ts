import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tempDir, type TestContext } from './pipeline.js';

/** A tmpfs of `size` at a new directory, unmounted at teardown; undefined where mounting is not allowed. */
export function smallDisk(t: TestContext, size: string): string | undefined {
  const dir = tempDir(t);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  t.teardown(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  return dir;
}

/** Writes zeros into `file` until the file system is full. */
export function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}
