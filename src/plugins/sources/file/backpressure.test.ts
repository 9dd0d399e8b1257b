/**
 * Back-pressure per destination (docs/delivery.md#when-a-destination-is-down): two files whose
 * lines go to different sinks. While one sink is down and its queue full, the other file keeps
 * being read and its checkpoint moves; the held file's checkpoint stays at its last committed
 * line. After a restart every line of both files arrives exactly once.
 */
import path from 'node:path';
import t, { type Test } from 'tap';
import { eventually, failures, received, startPipeline, tempDir } from '../../../testing/index.js';
import { decodeCheckpoint } from './checkpoint.js';
import { appendLines as appendPlain, lineOf, range, settle } from './testdata/harness.js';

// Plain lines are committed as events, JSON lines as batches written from their bytes (lines.ts):
// both must be held and split by file the same way.
for (const format of ['plain', 'json'] as const) {
  const json = format === 'json';
  const appendLines = (file: string, prefix: string, from: number, to: number) => appendPlain(file, prefix, from, to, json);
  const bytesOf = (lines: string[]) => lines.map((l) => lineOf(l, json)).join('\n').length + 1;

  const toml = (dir: string) => `
[sources.f]
type = "file"
format = "${format}"
include = [${JSON.stringify(path.join(dir, '*.log'))}]
glob_interval_secs = 0.2

[transforms.split]
type = "route"
inputs = ["f"]
route.hot = { labels.file = { regex = "hot\\\\.log$" } }

[sinks.hot]
type = "memory_recorder"
inputs = ["split.hot"]
buffer = { max_bytes = 1 }
retry = { initial_backoff_secs = 0.05, max_backoff_secs = 0.05 }

[sinks.cold]
type = "memory_recorder"
inputs = ["split._unmatched"]
`;

  /** Two files of `lines` lines each, and the hot sink down: every write fails and its one-byte queue stays full. */
  const hotAndCold = (t: Test, lines: number) => {
    const dir = tempDir(t);
    const hot = path.join(dir, 'hot.log');
    const cold = path.join(dir, 'cold.log');
    appendLines(hot, 'hot', 0, lines);
    appendLines(cold, 'cold', 0, lines);
    failures.set('hot', Array<'retryable'>(100_000).fill('retryable'));
    t.teardown(() => failures.delete('hot'));
    return { dir, hot, cold };
  };

  const messages = (sink: string) => received(sink).map((e) => (e as { message: string }).message);

  t.test(`${format}: a file whose lines go to a full queue waits alone; the others keep flowing; exactly once across a restart`, async (t) => {
    const dataDir = tempDir(t);
    const { dir, hot, cold } = hotAndCold(t, 50);
    const first = await startPipeline(t, toml(dir), { dataDir });
    await eventually(() => messages('cold').length === 50, 10_000, 'the first cold lines');
    await eventually(() => first.runtime.queueOf('hot')!.isFull(), 10_000, 'the hot queue to fill');

    appendLines(hot, 'hot', 50, 100);
    appendLines(cold, 'cold', 50, 100);
    await eventually(() => messages('cold').length === 100, 10_000, 'cold lines written while hot is full');
    t.pass('the cold file kept flowing while the hot queue was full');
    appendLines(cold, 'cold', 100, 120);
    await eventually(() => messages('cold').length === 120, 10_000, 'more cold lines');
    await settle();

    const cp = decodeCheckpoint(first.runtime.store.getCheckpoint('f'));
    if (cp.kind !== 'ok') throw new Error(`no checkpoint: ${JSON.stringify(cp)}`);
    const offsets = new Map([...cp.entries.values()].map((e) => [path.basename(e.path), e.offset]));
    t.equal(offsets.get('cold.log'), bytesOf(range('cold', 0, 120)), 'the cold file is committed to its end');
    t.equal(offsets.get('hot.log'), bytesOf(range('hot', 0, 50)), 'the hot file is committed up to its lines in the queue, not past the held ones');
    t.same(messages('hot'), [], 'nothing reached the hot sink');
    t.same(messages('cold'), range('cold', 0, 120), 'each cold line once, in order');

    await first.runtime.stop();
    const coldBefore = messages('cold');
    failures.delete('hot');
    await startPipeline(t, toml(dir), { dataDir });
    await eventually(() => messages('hot').length >= 100, 15_000, 'every hot line after the restart');
    await settle();
    t.same(messages('hot'), range('hot', 0, 100), 'every hot line exactly once: the queued ones and the held ones re-read from the file');
    t.same([...coldBefore, ...messages('cold')], range('cold', 0, 120), 'no cold line twice after the restart');
  });

  t.test(`${format}: held lines are committed by themselves once their queue has room, without a restart`, async (t) => {
    const { dir, hot, cold } = hotAndCold(t, 10);
    const { runtime } = await startPipeline(t, toml(dir));
    await eventually(() => messages('cold').length === 10 && runtime.queueOf('hot')!.isFull(), 10_000, 'cold lines, hot queue full');
    appendLines(hot, 'hot', 10, 3000);
    appendLines(cold, 'cold', 10, 3000);
    await eventually(() => messages('cold').length === 3000, 15_000, 'every cold line while hot is down');
    failures.delete('hot');
    await eventually(() => messages('hot').length >= 3000, 15_000, 'the hot lines once the sink is back');
    await settle();
    t.same(messages('hot'), range('hot', 0, 3000), 'every hot line once, in order');
    t.same(messages('cold'), range('cold', 0, 3000), 'every cold line once, in order');
  });

  t.test(`${format}: many files waiting for one full queue hold a bounded number of lines, then all arrive once`, async (t) => {
    const dir = tempDir(t);
    const files = 40;
    const perFile = 1000;
    failures.set('hot', Array<'retryable'>(100_000).fill('retryable'));
    t.teardown(() => failures.delete('hot'));
    const { runtime } = await startPipeline(t, toml(dir));
    // A first line fills the one-byte queue, then 40,000 more lines wait, 1,000 in each of 40 files.
    appendLines(path.join(dir, 'hot-first.hot.log'), 'first', 0, 1);
    await eventually(() => runtime.queueOf('hot')!.isFull(), 10_000, 'the hot queue to fill');
    for (let i = 0; i < files; i++) appendLines(path.join(dir, `f${i}.hot.log`), `f${i}`, 0, perFile);
    const held = async () => Number(/thermocline_file_held_lines\{[^}]*\} (\d+)/.exec(await runtime.metrics.text())?.[1] ?? 0);
    await eventually(async () => (await held()) > 0, 10_000, 'lines held back');
    let peak = 0;
    for (let i = 0; i < 15; i++) {
      peak = Math.max(peak, await held());
      await settle(100);
    }
    // 8,192 in all, plus what one round can add before it stops reading: one batch of 2,048.
    t.ok(peak <= 8192 + 2048, `held lines stay bounded however many files wait (peak ${peak} of ${files * perFile})`);
    failures.delete('hot');
    await eventually(() => messages('hot').length >= 1 + files * perFile, 30_000, 'every line once the sink is back');
    await settle();
    const got = messages('hot');
    t.equal(got.length, 1 + files * perFile, 'nothing twice');
    t.equal(new Set(got).size, got.length);
    t.equal(await held(), 0, 'nothing held any more');
  });
}
