import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { promisify } from 'node:util';

/**
 * Which file is which. A file is identified by device + inode, which survive a rename
 * (so rename-rotation keeps its offset), plus a fingerprint: a hash of its first
 * `min(size, fingerprint_bytes)` bytes, with the length it covers. An inode that the file system
 * reused for a new file gives a different fingerprint, so the new file is not skipped.
 *
 * Unlike Vector's checksum fingerprint, a file shorter than the window is still read: its
 * fingerprint covers what is there and is extended as the file grows. Two fingerprints are
 * compared over the shorter one's length.
 */

export interface Fingerprint {
  /** How many leading bytes the hash covers. */
  len: number;
  hash: string;
}

const read = promisify(fs.read);

/** `dev:ino`, exact even for 64-bit inode numbers. */
export function identityKey(st: Pick<BigIntStats, 'dev' | 'ino'>): string {
  return `${st.dev}:${st.ino}`;
}

function hashOf(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('base64url').slice(0, 22);
}

/** The first `len` bytes of the file (fewer if it is shorter now). */
async function head(fd: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await read(fd, buf, got, len - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The fingerprint of the file's first `min(size, window)` bytes. */
export async function fingerprint(fd: number, size: number, window: number): Promise<Fingerprint> {
  const bytes = await head(fd, Math.min(size, window));
  return { len: bytes.length, hash: hashOf(bytes) };
}

/** True when the file's first `known.len` bytes still hash to `known.hash`. */
export async function sameStart(fd: number, size: number, known: Fingerprint): Promise<boolean> {
  if (size < known.len) return false;
  if (known.len === 0) return true;
  const bytes = await head(fd, known.len);
  return bytes.length === known.len && hashOf(bytes) === known.hash;
}

/** The first `len` bytes of the file at `p` (fewer if it is shorter). */
export async function headOfPath(p: string, len: number): Promise<Buffer> {
  const fd = await promisify(fs.open)(p, 'r');
  try {
    return await head(fd, len);
  } finally {
    fs.close(fd, () => undefined);
  }
}

/** True when the first bytes of the file at `p` hash to `known` (which must cover at least one byte). */
export async function pathStartsWith(p: string, known: Fingerprint): Promise<boolean> {
  if (known.len === 0) return false;
  const bytes = await headOfPath(p, known.len).catch(() => Buffer.alloc(0));
  return bytes.length === known.len && hashOf(bytes) === known.hash;
}
