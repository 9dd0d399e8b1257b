/**
 * `thermocline dead-letter`: lists the dead_letter table and decodes an entry into JSON lines,
 * read-only, next to a running pipeline.
 */
import t from 'tap';
import type { LogEvent } from '../src/core/events.js';
import { runDeadLetter } from '../src/cli/dead-letter.js';
import { encodeBatch } from '../src/core/codec/batch.js';
import { failures, received } from './helpers/memory-sink.js';
import { logs, manualSource, manualSources } from './helpers/manual-source.js';
import { eventually, startPipeline } from './helpers/pipeline.js';

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDeadLetter(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

t.test('lists what a sink rejected and prints an entry as JSON lines', async (t) => {
  const { runtime, dataDir } = await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\n`, { extra: [manualSource] });
  const empty = await cli(['--data-dir', dataDir]);
  t.equal(empty.code, 0);
  t.match(empty.out[0], /^no dead letters in .*queue\.db$/);

  failures.set('rec', ['permanent']);
  await manualSources.get('m')!.emit(logs(0, 3));
  await eventually(() => runtime.store.deadLetterCount('rec') === 1, 10_000, 'the dead letter');

  const list = await cli(['--data-dir', dataDir]);
  t.equal(list.code, 0, list.err.join('\n'));
  t.match(list.out[0], /^ID\s+FAILED AT \(UTC\)\s+COMPONENT\s+EVENTS\s+ERROR$/);
  t.match(list.out[1], /^1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+rec\s+3\s+scripted permanent failure$/);
  t.match(list.out.at(-1), /1 entries; `thermocline dead-letter --show ID`/);
  t.match((await cli(['--data-dir', dataDir, '--component', 'other'])).out[0], /no dead letters .* for "other"/);

  const shown = await cli(['--data-dir', dataDir, '--show', '1']);
  t.equal(shown.code, 0);
  t.match(shown.err[0], /^# rec seq \d+ failed at .*: scripted permanent failure$/);
  const events = shown.out.map((l) => JSON.parse(l) as LogEvent);
  t.same(
    events.map((e) => e.labels.seq),
    ['0', '1', '2'],
    'the rejected events, decoded, in order',
  );

  const missing = await cli(['--data-dir', dataDir, '--show', '9']);
  t.equal(missing.code, 1);
  t.match(missing.err[0], /no dead letter with id 9/);
});

t.test('usage errors and a data_dir without a queue database', async (t) => {
  t.equal((await cli(['--bogus'])).code, 64);
  const none = await cli(['--data-dir', '/nonexistent/thermocline']);
  t.equal(none.code, 1);
  t.match(none.err[0], /queue\.db does not exist: no agent has run with data_dir/);
});

t.test('--replay moves a sink entry back into its queue once, on a stopped agent only', async (t) => {
  const toml = `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\n`;
  const first = await startPipeline(t, toml, { extra: [manualSource] });
  const { dataDir } = first;
  failures.set('rec', ['permanent']);
  await manualSources.get('m')!.emit(logs(0, 3));
  await eventually(() => first.runtime.store.deadLetterCount('rec') === 1, 10_000, 'the dead letter');
  // A source entry (seq 0), as the business-event receivers write them.
  first.runtime.store.addDeadLetter({ sink: 'm', seq: 0, error: 'invalid', events: 2, data: Buffer.from(encodeBatch(logs(10, 2))) });

  const running = await cli(['--data-dir', dataDir, '--replay', '1']);
  t.equal(running.code, 1, 'refused while the agent holds the data_dir');
  t.match(running.err[0], /TC_DATA_DIR_IN_USE.*stop it, replay, start it again/);
  await first.runtime.stop();

  const fromSource = await cli(['--data-dir', dataDir, '--replay', '2']);
  t.equal(fromSource.code, 1);
  t.match(fromSource.err[0], /"m" is not a sink .* choose the sink with --to .*sinks here: rec.*TC_DEAD_LETTER_REPLAY_REFUSED/);
  t.match((await cli(['--data-dir', dataDir, '--replay', '2', '--to', 'nope'])).err[0], /"nope" has no queue in this data_dir/);
  t.equal((await cli(['--data-dir', dataDir, '--to', 'rec'])).code, 64, '--to without --replay');

  const replayed = await cli(['--data-dir', dataDir, '--replay', '1']);
  t.equal(replayed.code, 0, replayed.err.join('\n'));
  t.match(replayed.out[0], /dead letter 1 \(3 events\) appended to the queue of sink "rec" as seq \d+/);
  const again = await cli(['--data-dir', dataDir, '--replay', '1']);
  t.equal(again.code, 1, 'the same entry cannot be replayed twice');
  t.match(again.err[0], /no dead letter with id 1/);
  t.equal((await cli(['--data-dir', dataDir, '--replay', '2', '--to', 'rec'])).code, 0, 'a source entry with --to');

  received('rec').length = 0;
  const second = await startPipeline(t, toml, { dataDir, extra: [manualSource] });
  await eventually(() => received('rec').length === 5, 10_000, 'the replayed batches delivered');
  t.same(received('rec').map((e) => (e as LogEvent).labels.seq), ['0', '1', '2', '10', '11'], 'each replayed event once, in replay order');
  await eventually(() => second.runtime.queueOf('rec')!.batches === 0, 10_000, 'and acknowledged');
  t.equal(second.runtime.store.deadLetterCount(), 0, 'nothing left in the dead-letter table');
});
