import t from 'tap';
import { decodeBatch, defineSink, PermanentError, z, type EncodedBatch, type WriteMeta } from '../../src/index.js';
import type { LogEvent } from '../../src/core/events.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline } from '../helpers/pipeline.js';

/*
 * A sink with `writeEncoded` gets its deliveries as queued (the batch encoding, checksums
 * checked) and the runner does not decode them; dead letters and rejected rows still work.
 */

const seqOf = (e: unknown) => Number((e as LogEvent).labels.seq);
const calls: Array<{ batches: EncodedBatch[]; meta: WriteMeta }> = [];
let plainWrites = 0;
let script: Array<'permanent' | 'reject-first'> = [];

const encodedRecorder = defineSink({
  type: 'encoded_recorder',
  summary: 'Test sink: records deliveries as queued.',
  config: z.strictObject({}),
  batch: { max_events: 1000, timeout_secs: 0.02 },
  create() {
    return {
      async write() {
        plainWrites++;
      },
      async writeEncoded(batches, meta) {
        const next = script.shift();
        if (next === 'permanent') throw new PermanentError('scripted permanent failure');
        calls.push({ batches: [...batches], meta });
        if (next === 'reject-first') return { rejected: [{ index: 0, reason: 'scripted rejection' }] };
        return undefined;
      },
    };
  },
});

const extra = [manualSource, encodedRecorder];
const toml = `[sources.m]\ntype = "manual"\n[sinks.enc]\ntype = "encoded_recorder"\ninputs = ["m"]\n`;
const delivered = () => calls.flatMap((c) => c.batches.flatMap((b) => decodeBatch(b.data)));

t.beforeEach(() => {
  calls.length = 0;
  plainWrites = 0;
  script = [];
});

t.test('deliveries arrive as the queued batches, in order, never through write()', async (t) => {
  const { runtime } = await startPipeline(t, toml, { extra });
  for (let i = 0; i < 4; i++) await manualSources.get('m')!.emit(logs(i * 5, 5));
  await eventually(() => delivered().length === 20);
  t.same(delivered().map(seqOf), Array.from({ length: 20 }, (_, i) => i), 'every event once, in order');
  t.ok(calls.every((c) => c.batches.every((b) => b.events === decodeBatch(b.data).length)), 'each batch says how many events it holds');
  t.equal(plainWrites, 0, 'write() is not called');
  // Counted once the write resolved, a moment after the sink recorded the batches.
  const sent = () => runtime.metrics.componentStats().find((s) => s.id === 'enc')?.sentEvents;
  await eventually(() => sent() === 20, 5000, `sent events are counted from the batches (${sent()})`);
  t.equal(sent(), 20, 'sent events are counted from the batches');
});

t.test('a corrupt queued batch is dead-lettered without reaching the sink; its neighbours are delivered', async (t) => {
  script = [];
  const { runtime } = await startPipeline(t, `${toml}batch = { max_events = 1000, timeout_secs = 1 }\n`, { extra });
  const src = manualSources.get('m')!;
  // As when the queues' memory for recent batches is spent: the batches are read back from disk.
  runtime.store.recentBudget.used = runtime.store.recentBudget.limit;
  for (let i = 0; i < 3; i++) await src.emit(logs(i * 4, 4, 'untouched message'));
  // Damage the middle batch while it waits in the queue (the delivery is not yet chosen).
  const db = runtime.store.db;
  const table = (db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'q\\_%' ESCAPE '\\'").get() as { name: string }).name;
  const rows = db.prepare(`SELECT seq, data FROM ${table} ORDER BY seq`).all() as Array<{ seq: number; data: Buffer }>;
  t.equal(rows.length, 3, 'three batches queued');
  const damaged = Buffer.from(rows[1]!.data);
  damaged[damaged.indexOf('untouched')] = 'U'.charCodeAt(0);
  db.prepare(`UPDATE ${table} SET data = ? WHERE seq = ?`).run(damaged, rows[1]!.seq);
  await eventually(() => runtime.store.deadLetterCount('enc') === 1 && delivered().length === 8, 10_000, 'delivered around the corrupt batch');
  t.same(delivered().map(seqOf), [0, 1, 2, 3, 8, 9, 10, 11]);
  t.match(runtime.store.deadLetters('enc')[0], { seq: rows[1]!.seq, events: 4, error: /corrupt: checksum mismatch/ });
});

t.test('a permanent failure dead-letters the batch as queued; rejected rows are decoded for their entry', async (t) => {
  script = ['permanent', 'reject-first'];
  const { runtime } = await startPipeline(t, toml, { extra });
  const src = manualSources.get('m')!;
  await src.emit(logs(0, 3));
  await eventually(() => runtime.store.deadLetterCount('enc') === 1, 10_000, 'the first delivery dead-lettered');
  await src.emit(logs(3, 3));
  await eventually(() => runtime.store.deadLetterCount('enc') === 2, 10_000, 'the rejected row dead-lettered');
  const [dead, rejected] = runtime.store.deadLetters('enc');
  t.match(dead, { events: 3, error: /scripted permanent failure/ });
  t.same(decodeBatch(dead!.data).map(seqOf), [0, 1, 2], 'the whole batch, as queued');
  t.match(rejected, { events: 1, error: /1 row\(s\) rejected/ });
  t.same(decodeBatch(rejected!.data).map(seqOf), [3], 'the rejected row, by its index across the batches');
  t.equal(runtime.metrics.componentStats().find((s) => s.id === 'enc')?.sentEvents, 2, 'the other two rows were sent');
});
