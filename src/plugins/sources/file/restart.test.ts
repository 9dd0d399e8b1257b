import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { tempDir, type TestContext } from '../../../testing/index.js';
import { appendLines, messages, range, settle, sourceReady, startFileSource, waitForMessages } from './testdata/harness.js';

/** Run the source on `file` until `n` messages arrived, stop it, and return them. */
async function runUntil(t: TestContext, sink: string, include: string[], dataDir: string, n: number, options = ''): Promise<string[]> {
  const { runtime } = await startFileSource(t, sink, include, options, dataDir);
  await waitForMessages(sink, n);
  await settle(300);
  await runtime.stop();
  return messages(sink);
}

t.test('a restart resumes from the checkpoint: nothing lost, nothing repeated', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'l', 0, 1000);
  t.same(await runUntil(t, 'r1', [file], dataDir, 1000), range('l', 0, 1000));
  appendLines(file, 'l', 1000, 1500);
  t.same(await runUntil(t, 'r1', [file], dataDir, 500), range('l', 1000, 1500));
});

t.test('read_from = "end" applies to the first start only; later starts use the checkpoint', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'before', 0, 10);
  const first = await startFileSource(t, 'r2', [file], 'read_from = "end"', dataDir);
  await sourceReady(first.runtime);
  await settle(300);
  await first.runtime.stop();
  t.same(messages('r2'), [], 'existing lines skipped');
  appendLines(file, 'while-stopped', 0, 3);
  fs.writeFileSync(path.join(dir, 'other.log'), 'ignored: not included\n');
  t.same(await runUntil(t, 'r2', [file], dataDir, 3, 'read_from = "end"'), range('while-stopped', 0, 3));
});

t.test('a partial line and an open multiline event are re-read whole after a restart', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  const ml = 'partial_line_timeout_secs = 0\nmultiline = { start_pattern = "^E", timeout_secs = 30 }';
  fs.writeFileSync(file, 'E1\n  at x\nE2\n  at y\nE3 part');
  t.same(await runUntil(t, 'r3', [file], dataDir, 1, ml), ['E1\n  at x'], 'E2 is still open when the agent stops');
  fs.appendFileSync(file, 'ial\n  at z\nE4\n');
  t.same(await runUntil(t, 'r3', [file], dataDir, 2, ml), ['E2\n  at y', 'E3 partial\n  at z']);
});

t.test('rotation while the agent is stopped: the rest of the old file is read, then the new one', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 20);
  t.same(await runUntil(t, 'r4', [file], dataDir, 20), range('a', 0, 20));
  appendLines(file, 'a', 20, 30); // written before the rotation, never read
  fs.renameSync(file, `${file}.1`);
  appendLines(file, 'b', 0, 5);
  const got = await runUntil(t, 'r4', [file], dataDir, 15, 'rotate_wait_secs = 0.2');
  t.same(got, [...range('a', 20, 30), ...range('b', 0, 5)], 'the rotated file first');
  // A third run: the rotated file was finished and forgotten, the new one continues.
  appendLines(file, 'b', 5, 7);
  t.same(await runUntil(t, 'r4', [file], dataDir, 2), range('b', 5, 7));
});

t.test('rotated while stopped and no new file yet: a file that comes and goes at the path after the start is read', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 5);
  t.same(await runUntil(t, 'r9', [file], dataDir, 5), range('a', 0, 5));
  appendLines(file, 'a', 5, 8);
  fs.renameSync(file, `${file}.2`);
  const { runtime } = await startFileSource(t, 'r9', [file], 'rotate_wait_secs = 0.2', dataDir);
  t.same(await waitForMessages('r9', 3), range('a', 5, 8), 'the rest of the file rotated while stopped');
  // Created, written and rotated away between two looks, with the path empty at both.
  appendLines(file, 'b', 0, 4);
  fs.renameSync(file, `${file}.1`);
  t.same(await waitForMessages('r9', 7, 5000), [...range('a', 5, 8), ...range('b', 0, 4)]);
  await settle();
  await runtime.stop();
  t.equal(messages('r9').length, 7, 'nothing twice');
});

t.test('a reused inode (same identity, different content) is read from the start', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'first-life', 0, 5);
  await runUntil(t, 'r5', [file], dataDir, 5);
  // Same inode (rewritten in place, like a deleted file whose inode was given to a new one),
  // longer than the old offset, different first bytes.
  const ino = fs.statSync(file).ino;
  fs.writeFileSync(file, range('second-life', 0, 8).join('\n') + '\n');
  t.equal(fs.statSync(file).ino, ino);
  t.same(await runUntil(t, 'r5', [file], dataDir, 8), range('second-life', 0, 8));
});

t.test('a file deleted while the agent was stopped is reported', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'x', 0, 3);
  await runUntil(t, 'r6', [file], dataDir, 3);
  fs.unlinkSync(file);
  const { logs } = await startFileSource(t, 'r6', [file], '', dataDir);
  await settle(300);
  t.ok(logs.lines.some((l) => l.code === 'TC_FILE_VANISHED'));
});

t.test('rotated twice while the agent was stopped: every file written meanwhile is read, oldest first', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  const ancient = `${file}.9`;
  fs.writeFileSync(ancient, 'from long ago\n');
  const past = new Date(Date.now() - 86_400_000);
  fs.utimesSync(ancient, past, past);
  appendLines(file, 'a', 0, 10);
  t.same(await runUntil(t, 'r7', [file], dataDir, 10), range('a', 0, 10));
  const pause = () => new Promise((r) => setTimeout(r, 30));
  appendLines(file, 'a', 10, 15);
  fs.renameSync(file, `${file}.1`);
  await pause();
  appendLines(file, 'b', 0, 5);
  fs.renameSync(`${file}.1`, `${file}.2`);
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(`${file}.3.gz`, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 10]));
  await pause();
  appendLines(file, 'c', 0, 3);
  const got = await runUntil(t, 'r7', [file], dataDir, 13, 'rotate_wait_secs = 0.2');
  t.same(got, [...range('a', 10, 15), ...range('b', 0, 5), ...range('c', 0, 3)]);
});

t.test('copytruncate while the agent was stopped: the unread rest is read from the copy', async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 10);
  t.same(await runUntil(t, 'r8', [file], dataDir, 10), range('a', 0, 10));
  appendLines(file, 'a', 10, 15); // never read before the rotation
  fs.copyFileSync(file, `${file}.1`);
  fs.truncateSync(file, 0);
  appendLines(file, 'b', 0, 2);
  const got = await runUntil(t, 'r8', [file], dataDir, 7, 'rotate_wait_secs = 0.2');
  t.same(got, [...range('a', 10, 15), ...range('b', 0, 2)]);
});
