import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { eventually, tempDir } from '../../../testing/index.js';
import { appendLines, logs, messages, metric, range, settle, startFileSource, waitForMessages } from './testdata/harness.js';

t.test('rename rotation: the old file is finished, the new one followed, all under the original path', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 100);
  const { runtime } = await startFileSource(t, 'rename', [file], 'rotate_wait_secs = 0.5');
  await waitForMessages('rename', 100);
  // The writer still has the old file open: lines written after the rename go to it.
  const writer = fs.openSync(file, 'a');
  fs.renameSync(file, `${file}.1`);
  fs.writeSync(writer, range('a', 100, 150).join('\n') + '\n');
  fs.closeSync(writer);
  appendLines(file, 'b', 0, 100);
  const got = await waitForMessages('rename', 250);
  t.same(
    got.filter((m) => m.startsWith('a-')),
    range('a', 0, 150),
    'every line of the old file, including those written after the rename',
  );
  t.same(
    got.filter((m) => m.startsWith('b-')),
    range('b', 0, 100),
  );
  t.ok(logs('rename').every((e) => e.labels.file === file));
  await eventually(async () => (await metric(runtime, 'thermocline_file_open_files')) === 1, 5000, 'the rotated file closed');
  t.equal(await metric(runtime, 'thermocline_file_rotations_total'), 1);
  await settle();
  t.equal(messages('rename').length, 250, 'nothing twice');
});

t.test('the watcher notices a rotation at once, without waiting for the periodic rescan', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 3);
  await startFileSource(t, 'watched', [file], 'glob_interval_secs = 60\nrotate_wait_secs = 0.2');
  await waitForMessages('watched', 3);
  fs.renameSync(file, `${file}.1`);
  appendLines(file, 'b', 0, 3);
  t.same(await waitForMessages('watched', 6, 5000), [...range('a', 0, 3), ...range('b', 0, 3)]);
  appendLines(`${dir}/other.log`, 'x', 0, 1);
  appendLines(file, 'b', 3, 4);
  t.same((await waitForMessages('watched', 7, 5000)).slice(6), ['b-3'], 'and keeps following the new file');
});

t.test('copytruncate: a file found shorter than what was read is read again from the start', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'old', 0, 50);
  const { runtime } = await startFileSource(t, 'copytrunc', [file]);
  await waitForMessages('copytrunc', 50);
  fs.copyFileSync(file, `${file}.1`);
  fs.truncateSync(file, 0);
  appendLines(file, 'new', 0, 10);
  const got = await waitForMessages('copytrunc', 60);
  t.same(got, [...range('old', 0, 50), ...range('new', 0, 10)]);
  t.equal(await metric(runtime, 'thermocline_file_truncations_total'), 1);
});

t.test('copytruncate noticed late: rewritten past the old offset, detected by the fingerprint', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'old', 0, 5);
  const { runtime } = await startFileSource(t, 'rewrite', [file]);
  await waitForMessages('rewrite', 5);
  // Truncated and written past the old size before the source looks again.
  fs.writeFileSync(file, range('fresh', 0, 20).join('\n') + '\n');
  const got = await waitForMessages('rewrite', 25);
  t.same(got.slice(5), range('fresh', 0, 20));
  t.equal(await metric(runtime, 'thermocline_file_truncations_total'), 1);
});

t.test('a deleted file is finished from its open handle, then released', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'gone.log');
  const keep = path.join(dir, 'keep.log');
  fs.writeFileSync(keep, '');
  appendLines(file, 'd', 0, 10);
  const { runtime } = await startFileSource(t, 'deleted', [`${dir}/*.log`], 'rotate_wait_secs = 0.3');
  await waitForMessages('deleted', 10);
  const writer = fs.openSync(file, 'a');
  fs.unlinkSync(file);
  fs.writeSync(writer, 'written after unlink\n');
  fs.closeSync(writer);
  t.same(await waitForMessages('deleted', 11), [...range('d', 0, 10), 'written after unlink']);
  await eventually(async () => (await metric(runtime, 'thermocline_file_open_files')) === 1, 5000, 'the deleted file released');
});

t.test('a file renamed within the include pattern keeps its offset', async (t) => {
  const dir = tempDir(t);
  appendLines(path.join(dir, 'a.log'), 'x', 0, 10);
  await startFileSource(t, 'moved', [`${dir}/*.log`]);
  await waitForMessages('moved', 10);
  fs.renameSync(path.join(dir, 'a.log'), path.join(dir, 'b.log'));
  appendLines(path.join(dir, 'b.log'), 'x', 10, 15);
  t.same(await waitForMessages('moved', 15), range('x', 0, 15));
  await settle();
  t.equal(messages('moved').length, 15);
});

t.test('a file that lived at the path only between two looks is read when the rotation is found', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 10);
  // Rotated files from before the source started: read long ago, not again.
  appendLines(`${file}.9`, 'old', 0, 5);
  const longAgo = new Date(Date.now() - 3_600_000);
  fs.utimesSync(`${file}.9`, longAgo, longAgo);
  // A live log beside it whose name starts the same, not included: never read as a rotation.
  appendLines(`${file}.err`, 'err', 0, 2);
  const { runtime } = await startFileSource(t, 'brief', [file], 'glob_interval_secs = 60\nrotate_wait_secs = 0.3');
  await waitForMessages('brief', 10);
  appendLines(`${file}.err`, 'err', 2, 4);
  // A compressed rotation written now is not read either (it would be binary).
  fs.writeFileSync(`${file}.3.gz`, Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
  // Rotated twice in a row, within one look of the watcher: b never stood at app.log when the
  // source looked.
  fs.renameSync(file, `${file}.2`);
  appendLines(file, 'b', 0, 10);
  fs.renameSync(file, `${file}.1`);
  appendLines(file, 'c', 0, 10);
  const got = await waitForMessages('brief', 30, 5000);
  t.same(
    got.filter((m) => m.startsWith('b-')),
    range('b', 0, 10),
    'every line of the file that was rotated away before it was seen',
  );
  t.same(
    [...got].sort(),
    [...range('a', 0, 10), ...range('b', 0, 10), ...range('c', 0, 10)].sort(),
  );
  t.ok(
    logs('brief').every((e) => e.labels.file === file),
    'under the path it was written at',
  );
  // Released once finished; a later rotation must not read it again.
  await eventually(async () => (await metric(runtime, 'thermocline_file_open_files')) === 1, 5000, 'the rotated files closed');
  fs.renameSync(`${file}.1`, `${file}.4`);
  fs.renameSync(file, `${file}.1`);
  appendLines(file, 'd', 0, 3);
  t.same((await waitForMessages('brief', 33, 5000)).slice(30), range('d', 0, 3));
  await settle();
  t.equal(messages('brief').length, 33, 'nothing twice, nothing from the old, compressed or live neighbouring files');
});

t.test('a path left empty by a rotation is searched at every look until a file stands there again', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 5);
  const { runtime } = await startFileSource(t, 'vacated', [file], 'glob_interval_secs = 0.2\nrotate_wait_secs = 0.3');
  await waitForMessages('vacated', 5);
  // Renamed away, and the writer creates its next file only with its next line (logrotate's
  // `nocreate`, a logger that reopens lazily): a look finds the rotation and the path empty.
  fs.renameSync(file, `${file}.3`);
  await eventually(async () => (await metric(runtime, 'thermocline_file_rotations_total')) === 1, 5000, 'the rotation found');
  // Between two looks: b created, written and rotated away; then, once a look has found the path
  // still empty, c the same way, and d stays. No tracked file goes missing at these looks.
  appendLines(file, 'b', 0, 4);
  fs.renameSync(file, `${file}.2`);
  await eventually(async () => (await metric(runtime, 'thermocline_file_rotations_total')) === 2, 5000, 'b found beside the empty path');
  appendLines(file, 'c', 0, 4);
  fs.renameSync(file, `${file}.1`);
  appendLines(file, 'd', 0, 4);
  const expected = [...range('a', 0, 5), ...range('b', 0, 4), ...range('c', 0, 4), ...range('d', 0, 4)];
  t.same([...(await waitForMessages('vacated', expected.length, 5000))].sort(), expected.sort(), 'every file that stood at the path');
  await settle();
  t.equal(messages('vacated').length, expected.length, 'nothing twice');
});

t.test('more briefly lived files than max_open_files: each is read in turn, none is lost', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  appendLines(file, 'a', 0, 5);
  const { runtime } = await startFileSource(t, 'many-brief', [file], 'glob_interval_secs = 60\nrotate_wait_secs = 0.2\nmax_open_files = 2');
  await waitForMessages('many-brief', 5);
  let mostOpen = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      mostOpen = Math.max(mostOpen, await metric(runtime, 'thermocline_file_open_files'));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  // Rotated away at once, with five files that stood at app.log in between (one of them empty).
  fs.renameSync(file, `${file}.6`);
  for (let i = 1; i <= 5; i++) appendLines(`${file}.${i}`, `r${i}`, 0, i === 3 ? 0 : 4);
  appendLines(file, 'c', 0, 5);
  const expected = [...range('a', 0, 5), ...range('c', 0, 5), ...[1, 2, 4, 5].flatMap((i) => range(`r${i}`, 0, 4))];
  t.same([...(await waitForMessages('many-brief', expected.length, 10_000))].sort(), expected.sort());
  await settle();
  sampling = false;
  await sampler;
  t.equal(messages('many-brief').length, expected.length, 'nothing twice');
  t.ok(mostOpen >= 1 && mostOpen <= 2, `never more than max_open_files open (at most ${mostOpen})`);
});
