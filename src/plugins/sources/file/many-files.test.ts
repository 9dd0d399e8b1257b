/**
 * More matching files than `max_open_files`: every line of every file is read once, the files
 * closed to stay within the limit are reopened from their offsets when they grow (or found
 * beside their old name when rotated while closed), the process's descriptors stay bounded, and
 * the API keeps answering throughout. Ten thousand files, the count operators asked the agent to
 * survive (1,024 exhausted the descriptors before max_open_files existed).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
// eslint-disable-next-line thermocline/plugin-boundary -- the agent's own API, which a plugin never needs
import { ApiServer } from '../../../core/api/server.js';
import { eventually, tempDir } from '../../../testing/index.js';
import { messages, metric, settle, startFileSource, waitForMessages } from './testdata/harness.js';

const FILES = 10_000;
const LIMIT = 64;
const openFds = () => fs.readdirSync('/proc/self/fd').length;

t.test(`${FILES} files with max_open_files = ${LIMIT}: every line once, descriptors bounded, /health and the API answering`, async (t) => {
  const dir = tempDir(t);
  const name = (i: number) => path.join(dir, `f${i}.log`);
  for (let i = 0; i < FILES; i++) fs.writeFileSync(name(i), `f${i}-a\nf${i}-b\nf${i}-c\n`);
  const baseline = openFds();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, openFds())), 20);
  t.teardown(() => clearInterval(sampler));

  const { runtime } = await startFileSource(t, 'many', [`${dir}/*.log`], `max_open_files = ${LIMIT}\nrotate_wait_secs = 0.5`);
  const api = new ApiServer(() => runtime);
  const { port } = await api.listen('127.0.0.1:0');
  t.teardown(() => api.close());
  const health = { answered: 0, failed: [] as string[] };
  let probing = true;
  const prober = (async () => {
    for (let i = 0; probing; i++) {
      // /health and the API's heaviest read, /components, in turn.
      const p = i % 2 === 0 ? '/health' : '/components';
      try {
        const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
        health.answered++;
      } catch (err) {
        health.failed.push(`${p}: ${(err as Error).message}`);
      }
      await settle(50);
    }
  })();

  await waitForMessages('many', 3 * FILES, 120_000);
  // Rotate ten files that are now closed: a line written before the rename must be found in
  // the renamed file, and the new file at the old path read from its start.
  for (let i = 0; i < 10; i++) {
    fs.appendFileSync(name(i), `f${i}-before-rotation\n`);
    fs.renameSync(name(i), `${name(i)}.1`);
    fs.writeFileSync(name(i), `f${i}-new\n`);
  }
  // Every file grows again: closed ones must be reopened at their offsets.
  for (let i = 10; i < FILES; i++) fs.appendFileSync(name(i), `f${i}-d\n`);
  const expected = [
    ...Array.from({ length: FILES }, (_, i) => [`f${i}-a`, `f${i}-b`, `f${i}-c`]).flat(),
    ...Array.from({ length: 10 }, (_, i) => [`f${i}-before-rotation`, `f${i}-new`]).flat(),
    ...Array.from({ length: FILES - 10 }, (_, i) => `f${i + 10}-d`),
  ];
  await waitForMessages('many', expected.length, 120_000);
  // A rotated-away file is released rotate_wait_secs after its last line, at the end of a round,
  // and a round over thousands of closed files takes a while: wait for that, not a fixed time.
  const released = async () => (await metric(runtime, 'thermocline_file_tracked_files')) === FILES;
  await eventually(released, 60_000, 'the rotated-away files released').catch(() => undefined); // asserted below
  await settle(1000); // for anything read twice to show
  probing = false;
  await prober;

  const got = messages('many');
  t.equal(got.length, expected.length, 'nothing twice');
  t.same([...got].sort(), [...expected].sort(), 'every line of every file');
  t.ok(peak - baseline <= LIMIT + 32, `descriptors bounded: peak ${peak}, ${baseline} before the source started`);
  t.ok(peak - baseline >= LIMIT / 2, 'and the source did use its descriptors (the sampler saw them)');
  t.ok(await metric(runtime, 'thermocline_file_open_files') <= LIMIT, 'open_files within the limit');
  t.equal(await metric(runtime, 'thermocline_file_tracked_files'), FILES, 'every file tracked, the rotated-away ones released');
  t.ok((await metric(runtime, 'thermocline_file_files_closed_for_limit_total')) >= FILES - LIMIT, 'files were closed for the limit');
  t.same(health.failed, [], '/health and /components never failed to answer');
  t.ok(health.answered >= 5, `/health and /components answered ${health.answered} times`);
});

t.test('a closed file that is copied and truncated, or deleted, while closed', async (t) => {
  const dir = tempDir(t);
  const name = (i: number) => path.join(dir, `g${i}.log`);
  for (let i = 0; i < 6; i++) fs.writeFileSync(name(i), `g${i}-a\n`);
  const { runtime, logs } = await startFileSource(t, 'closed', [`${dir}/*.log`], 'max_open_files = 2\nrotate_wait_secs = 0.3');
  await waitForMessages('closed', 6);
  await settle(300);
  t.ok(await metric(runtime, 'thermocline_file_open_files') <= 2, 'at most two open');
  // g0 is closed (the least recently active). copytruncate in place: same inode, shorter.
  fs.writeFileSync(name(0), `g0-after-truncate\n`);
  // g1 grows, then is renamed beside its old name and replaced, all while closed.
  fs.appendFileSync(name(1), 'g1-b\n');
  fs.renameSync(name(1), `${name(1)}.1`);
  fs.writeFileSync(name(1), 'g1-new\n');
  // g2 is deleted with nothing unread: it is forgotten.
  fs.rmSync(name(2));
  const got = await waitForMessages('closed', 9);
  await settle(1000);
  t.same(
    [...messages('closed')].sort(),
    ['g0-a', 'g0-after-truncate', 'g1-a', 'g1-b', 'g1-new', 'g2-a', 'g3-a', 'g4-a', 'g5-a'],
    'every line once, including the one written to g1 before it was renamed while closed',
  );
  t.equal(got.length, 9);
  // g1.1 is released rotate_wait_secs after its last line, at the end of a round: on a loaded
  // machine later than the second waited above.
  const tracked = () => metric(runtime, 'thermocline_file_tracked_files');
  await eventually(async () => (await tracked()) === 5, 10_000, 'the rotated-away g1.1 released').catch(() => undefined); // asserted next
  t.equal(await tracked(), 5, 'g2 forgotten, g1.1 finished and released, g1 new');
  t.ok(
    logs.lines.some((l) => l.code === 'TC_FILE_VANISHED' && l.path === name(2)),
    'the deleted file is reported: what was written to it after the close could not be read',
  );
});
