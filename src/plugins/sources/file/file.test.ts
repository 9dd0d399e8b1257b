import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../../../testing/index.js';
import { appendLines, logs, messages, metric, range, settle, sourceReady, startFileSource, waitForMessages } from './testdata/harness.js';

t.test('appended lines arrive in order, once, labelled with their file; a partial line waits for its newline', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  fs.writeFileSync(file, 'first\r\nsecond\nthi');
  await startFileSource(t, 'basic', [`${dir}/*.log`], 'partial_line_timeout_secs = 0');
  t.same(await waitForMessages('basic', 2), ['first', 'second']);
  fs.appendFileSync(file, 'rd\n');
  appendLines(file, 'line', 0, 500);
  const got = await waitForMessages('basic', 503);
  t.same(got, ['first', 'second', 'third', ...range('line', 0, 500)]);
  t.ok(logs('basic').every((e) => e.labels.file === file && e.host !== '' && e.level === ''));
  await settle();
  t.equal(messages('basic').length, 503, 'nothing twice');
});

t.test('a last line without a newline is emitted after partial_line_timeout_secs', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  fs.writeFileSync(file, 'complete\nno newline');
  const { runtime } = await startFileSource(t, 'partial', [file], 'partial_line_timeout_secs = 0.3');
  t.same(await waitForMessages('partial', 2), ['complete', 'no newline']);
  t.equal(await metric(runtime, 'thermocline_file_partial_lines_total'), 1);
  fs.appendFileSync(file, 'next\n');
  t.same(await waitForMessages('partial', 3), ['complete', 'no newline', 'next'], 'what follows is a new line');
});

t.test('files shorter than the fingerprint window are read, and keep being read as they grow', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'tiny.log');
  fs.writeFileSync(file, 'a\n');
  const { runtime, dataDir } = await startFileSource(t, 'tiny', [file], 'fingerprint_bytes = 64');
  t.same(await waitForMessages('tiny', 1), ['a']);
  fs.appendFileSync(file, 'b\n');
  t.same(await waitForMessages('tiny', 2), ['a', 'b']);
  appendLines(file, 'x', 0, 20); // now longer than the window
  await waitForMessages('tiny', 22);
  await runtime.stop();
  // The checkpoint written with the last batch identifies the file by its (grown) fingerprint.
  appendLines(file, 'y', 0, 2);
  await startFileSource(t, 'tiny', [file], 'fingerprint_bytes = 64', dataDir);
  t.same(await waitForMessages('tiny', 2), ['y-0', 'y-1'], 'resumed after a restart: nothing re-read');
});

t.test('empty files are tracked and read once they get lines', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'empty.log');
  fs.writeFileSync(file, '');
  await startFileSource(t, 'empty', [file]);
  await settle(300);
  fs.appendFileSync(file, 'now\n');
  t.same(await waitForMessages('empty', 1), ['now']);
});

t.test('include and exclude globs; files appearing later are read from the beginning', async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'top.log'), 'top\n');
  fs.writeFileSync(path.join(dir, 'a/b/deep.log'), 'deep\n');
  fs.writeFileSync(path.join(dir, 'a/skip-me.log'), 'excluded\n');
  fs.writeFileSync(path.join(dir, 'a/other.txt'), 'not included\n');
  const { runtime } = await startFileSource(t, 'globs', [`${dir}/**/*.log`], `exclude = ["${dir}/**/skip-*.log"]\nread_from = "end"`);
  await sourceReady(runtime);
  await settle(300);
  t.same(messages('globs'), [], 'read_from = "end" skips what is there at the first start');
  fs.mkdirSync(path.join(dir, 'c'));
  fs.writeFileSync(path.join(dir, 'c/new.log'), 'new 1\nnew 2\n');
  fs.appendFileSync(path.join(dir, 'top.log'), 'top 2\n');
  fs.appendFileSync(path.join(dir, 'a/skip-me.log'), 'still excluded\n');
  const got = await waitForMessages('globs', 3);
  t.same([...got].sort(), ['new 1', 'new 2', 'top 2']);
  t.same(
    logs('globs')
      .filter((e) => e.message.startsWith('new'))
      .map((e) => e.labels.file),
    [path.join(dir, 'c/new.log'), path.join(dir, 'c/new.log')],
  );
});

t.test('ignore_older_secs leaves out old files until they are written to again', async (t) => {
  const dir = tempDir(t);
  const old = path.join(dir, 'old.log');
  const fresh = path.join(dir, 'fresh.log');
  fs.writeFileSync(old, 'ancient\n');
  const past = new Date(Date.now() - 3_600_000);
  fs.utimesSync(old, past, past);
  fs.writeFileSync(fresh, 'fresh\n');
  await startFileSource(t, 'older', [`${dir}/*.log`], 'ignore_older_secs = 600');
  t.same(await waitForMessages('older', 1), ['fresh']);
  await settle(400);
  t.same(messages('older'), ['fresh']);
  fs.appendFileSync(old, 'revived\n');
  t.same(await waitForMessages('older', 2), ['fresh', 'revived'], 'read from where it was left out, not from the start');
});

t.test('symlinks to files are followed, with the link path as label', async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'real'));
  fs.mkdirSync(path.join(dir, 'links'));
  fs.writeFileSync(path.join(dir, 'real/0.log'), 'via link\n');
  fs.symlinkSync(path.join(dir, 'real/0.log'), path.join(dir, 'links/pod.log'));
  await startFileSource(t, 'links', [`${dir}/links/*.log`]);
  await waitForMessages('links', 1);
  t.equal(logs('links')[0]?.labels.file, path.join(dir, 'links/pod.log'));
});

t.test('a missing directory is fine; files are found once it appears', async (t) => {
  const dir = tempDir(t);
  await startFileSource(t, 'later', [`${dir}/not-yet/*.log`]);
  await settle(300);
  fs.mkdirSync(path.join(dir, 'not-yet'));
  fs.writeFileSync(path.join(dir, 'not-yet/x.log'), 'hello\n');
  t.same(await waitForMessages('later', 1), ['hello']);
  fs.appendFileSync(path.join(dir, 'not-yet/x.log'), 'again\n');
  t.same(await waitForMessages('later', 2), ['hello', 'again']);
});

t.test(
  'an unreadable file is reported with its code and does not stop the others',
  { skip: process.getuid?.() === 0 ? 'root reads every file' : false },
  async (t) => {
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'secret.log'), 'x\n', { mode: 0o000 });
    fs.writeFileSync(path.join(dir, 'open.log'), 'visible\n');
    const { logs: captured } = await startFileSource(t, 'perm', [`${dir}/*.log`]);
    t.same(await waitForMessages('perm', 1), ['visible']);
    t.ok(captured.lines.some((l) => l.code === 'TC_FILE_UNREADABLE'));
  },
);
