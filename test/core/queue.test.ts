import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { QUEUE_PAGE_CACHE_KIB, QueueStore } from '../../src/core/buffer/store.js';
import { DiskQueue } from '../../src/core/buffer/queue.js';
import { encodeBatch, decodeBatch } from '../../src/core/codec/batch.js';
import type { LogEvent } from '../../src/core/events.js';
import { failures, received, recorded } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline, tempDir } from '../helpers/pipeline.js';

const seqOf = (e: unknown) => Number((e as LogEvent).labels.seq);
const extra = [manualSource];

t.test('batches are delivered in order and removed only after the sink acknowledged them', async (t) => {
  const { runtime } = await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 20\n`, { extra });
  const src = manualSources.get('m')!;
  for (let i = 0; i < 10; i++) await src.emit(logs(i * 10, 10));
  const queue = runtime.queueOf('rec')!;
  t.ok(queue.batches > 0, 'queued while the sink is busy');
  await eventually(() => received('rec').length === 100);
  t.same(
    received('rec').map(seqOf),
    Array.from({ length: 100 }, (_, i) => i),
  );
  await eventually(() => queue.batches === 0, 5000, 'queue drained');
  t.equal(queue.events, 0);
  t.equal(queue.bytes, 0);
});

t.test('backpressure, block: emit waits while the queue is full, and {wait:false} says "full"', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 1000\nbuffer = { max_bytes = 1 }\nbatch = { max_events = 10 }\n`,
    { extra },
  );
  const src = manualSources.get('m')!;
  t.equal(await src.emit(logs(0, 10)), 'accepted', 'an empty queue takes a batch even if it is larger than max_bytes');
  t.ok(src.isBlocked());
  t.equal(await src.emit(logs(10, 10), undefined, { wait: false }), 'full');
  let resolved = false;
  const waiting = src.emit(logs(10, 10)).then(() => (resolved = true));
  // The sink's write takes a second: a check 50 ms on falls inside it even on a loaded machine.
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(resolved, 'still waiting while the sink is busy');
  await waiting;
  await eventually(() => received('rec').length === 20);
  t.same(
    received('rec').map(seqOf),
    Array.from({ length: 20 }, (_, i) => i),
    'nothing lost, nothing duplicated',
  );
  t.equal(runtime.metrics.componentStats().find((s) => s.id === 'rec')?.dropped.size, 0);
});

t.test('backpressure, drop_newest: events for a full queue are dropped and counted', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 1000\nbuffer = { max_bytes = 1, when_full = "drop_newest" }\n`,
    { extra },
  );
  const src = manualSources.get('m')!;
  await src.emit(logs(0, 5));
  t.equal(await src.emit(logs(5, 5)), 'accepted', 'a drop_newest sink never blocks its producers');
  await eventually(() => received('rec').length === 5);
  const stats = runtime.metrics.componentStats().find((s) => s.id === 'rec');
  t.equal(stats?.dropped.get('queue_full'), 5);
});

t.test('retryable errors are retried with backoff; the same (sink, seq) is replayed', async (t) => {
  await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\nretry = { initial_backoff_secs = 0.01, max_backoff_secs = 0.05 }\n`,
    { extra },
  );
  failures.set('rec', ['retryable', 'retryable', 'retryable']);
  await manualSources.get('m')!.emit(logs(0, 3));
  await eventually(() => received('rec').length === 3);
  t.equal(recorded.get('rec')?.writes.length, 1);
  t.equal(recorded.get('rec')?.writes[0]?.attempt, 4, 'delivered on the fourth attempt');
});

t.test('permanent errors and repeated unclassified errors go to the dead-letter table', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\nbatch = { timeout_secs = 0 }\nretry = { initial_backoff_secs = 0.01, max_unclassified_attempts = 2 }\n`,
    { extra },
  );
  const src = manualSources.get('m')!;
  failures.set('rec', ['permanent']);
  await src.emit(logs(0, 2));
  await eventually(() => runtime.store.deadLetterCount('rec') === 1, 5000, 'permanent dead letter');
  failures.set('rec', ['unclassified', 'unclassified']);
  await src.emit(logs(2, 2));
  await eventually(() => runtime.store.deadLetterCount('rec') === 2, 5000, 'unclassified dead letter');
  await src.emit(logs(4, 2));
  await eventually(() => received('rec').length === 2);
  t.same(received('rec').map(seqOf), [4, 5], 'the pipeline goes on after dead-lettering');
  const dead = runtime.store.deadLetters('rec');
  t.match(dead[0]?.error, /scripted permanent failure/);
  t.match(dead[1]?.error, /scripted unclassified failure/);
  t.same(decodeBatch(dead[0]!.data).map(seqOf), [0, 1], 'the dead letter holds the events');
  t.equal(runtime.statuses().find((s) => s.id === 'rec')?.state, 'running', 'healthy again after a success');
});

t.test('a restart resumes exactly where the queue stands, replaying a pinned delivery as it was', async (t) => {
  const dataDir = tempDir(t);
  // A short shutdown: the abandoned first agent's held write would otherwise keep teardown waiting.
  const toml = `[shutdown]\ntimeout_secs = 1\n[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 100000\n`;
  const first = await startPipeline(t, toml, { dataDir, extra });
  for (let i = 0; i < 5; i++) await manualSources.get('m')!.emit(logs(i * 4, 4), { at: i });
  await eventually(() => first.runtime.store.db.prepare('select count(*) as n from deliveries').get() !== undefined);
  await new Promise((r) => setTimeout(r, 50));
  const pinned = first.runtime.store.db.prepare('select first_seq, last_seq from deliveries').get() as { first_seq: number; last_seq: number } | undefined;
  t.ok(pinned, 'the in-flight delivery is pinned');
  // Simulate a crash: abandon the runtime without stopping it; copy the database files as they are.
  const copy = tempDir(t);
  first.runtime.store.db.pragma('wal_checkpoint(FULL)');
  for (const f of fs.readdirSync(dataDir)) fs.copyFileSync(path.join(dataDir, f), path.join(copy, f));
  const second = await startPipeline(t, toml.replace('delay_ms = 100000', 'delay_ms = 0'), { dataDir: copy, extra });
  await eventually(() => received('rec').length === 20);
  t.same(
    received('rec').map(seqOf),
    Array.from({ length: 20 }, (_, i) => i),
  );
  const writes = recorded.get('rec')!.writes;
  t.equal(writes[0]?.delivery.first, pinned?.first_seq, 'the first delivery after restart is the pinned one');
  t.equal(writes[0]?.delivery.last, pinned?.last_seq);
  t.same(second.runtime.store.getCheckpoint('m'), { at: 4 }, 'the checkpoint committed with the last batch');
});

t.test('a queued batch whose bytes changed on disk is dead-lettered as corrupt, counted, and never forwarded', async (t) => {
  const dataDir = tempDir(t);
  // A short shutdown: the abandoned first agent's held write would otherwise keep teardown waiting.
  const toml = `[shutdown]\ntimeout_secs = 1\n[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 100000\n`;
  const first = await startPipeline(t, toml, { dataDir, extra });
  for (let i = 0; i < 3; i++) await manualSources.get('m')!.emit(logs(i * 4, 4, 'untouched message'));
  // Abandon this agent as a crash would, and damage the middle batch in a copy of its files.
  const copy = tempDir(t);
  first.runtime.store.db.pragma('wal_checkpoint(FULL)');
  for (const f of fs.readdirSync(dataDir)) fs.copyFileSync(path.join(dataDir, f), path.join(copy, f));
  const db = new Database(path.join(copy, 'queue.db'));
  const table = (db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'q\\_%' ESCAPE '\\'").get() as { name: string }).name;
  const rows = db.prepare(`SELECT seq, data FROM ${table} ORDER BY seq`).all() as Array<{ seq: number; data: Buffer }>;
  t.equal(rows.length, 3);
  const middle = rows[1]!;
  const damaged = Buffer.from(middle.data);
  const at = damaged.indexOf('untouched');
  damaged[at] = 'U'.charCodeAt(0); // still valid UTF-8 and still decodable: only the checksum can tell
  db.prepare(`UPDATE ${table} SET data = ? WHERE seq = ?`).run(damaged, middle.seq);
  db.close();

  const second = await startPipeline(t, toml.replace('delay_ms = 100000', 'delay_ms = 0'), { dataDir: copy, extra });
  await eventually(() => second.runtime.store.deadLetterCount('rec') === 1 && received('rec').length === 8, 10_000, 'delivery around the corrupt batch');
  t.same(received('rec').map(seqOf), [0, 1, 2, 3, 8, 9, 10, 11], 'the corrupt batch is not forwarded');
  t.ok(
    received('rec').every((e) => (e as LogEvent).message === `untouched message ${seqOf(e)}`),
    'no altered event reached the sink',
  );
  const [letter] = second.runtime.store.deadLetters('rec');
  t.match(letter, { seq: middle.seq, events: 4, error: /corrupt: checksum mismatch/ });
  t.same(letter?.data, damaged, 'the raw bytes are kept for inspection');
  t.equal(
    second.runtime.metrics
      .componentStats()
      .find((s) => s.id === 'rec')
      ?.errors.get('decode'),
    1,
    'counted',
  );
});

t.test('memory buffers deliver without touching the queue tables', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\nbuffer = { type = "memory", max_bytes = 1000000 }\n`,
    { extra },
  );
  await manualSources.get('m')!.emit(logs(0, 10));
  await eventually(() => received('rec').length === 10);
  const tables = runtime.store.db.prepare("select name from sqlite_master where name like 'q_%'").all();
  t.same(tables, [], 'no queue table was created');
});

t.test('a corrupt queue database is reported clearly', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'queue.db'), 'this is not a sqlite database, just some text that is long enough to be read'.repeat(100));
  t.throws(() => QueueStore.open(dir), { code: 'TC_QUEUE_CORRUPT', message: /queue\.db is corrupt/ });
});

t.test('a data_dir that cannot be written is reported clearly', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, 'x');
  t.throws(() => QueueStore.open(path.join(file, 'sub')), { code: 'TC_DATA_DIR', message: /is not a writable directory/ });
});

t.test("the queue's connection keeps SQLite's own page cache, not better-sqlite3's 16 MB", async (t) => {
  const dir = tempDir(t);
  for (const round of ['created', 'reopened']) {
    const store = QueueStore.open(dir);
    t.equal(store.db.pragma('cache_size', { simple: true }), -QUEUE_PAGE_CACHE_KIB, round);
    store.close();
  }
  t.equal(QUEUE_PAGE_CACHE_KIB, 2000);
});

t.test('sequence numbers of a new queue start at its creation time, never reusing old identities', async (t) => {
  const store = QueueStore.open(tempDir(t));
  t.teardown(() => store.close());
  const before = Date.now() * 1000;
  const q = new DiskQueue(store, 'x', { type: 'disk', max_bytes: 1e9, when_full: 'block' });
  const seq = store.transaction(() => q.append(encodeBatch(logs(0, 1)), 1, 0));
  t.ok(seq > before, `${seq} > ${before}`);
});

t.test('the next delivery is read while a write is in flight, without skipping or repeating anything across retries', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 30\nbatch = { max_events = 10, timeout_secs = 0 }\nretry = { initial_backoff_secs = 0.01 }\n`,
    { extra },
  );
  const src = manualSources.get('m')!;
  for (let i = 0; i < 10; i++) await src.emit(logs(i * 10, 10));
  failures.set('rec', ['retryable', 'unclassified', 'retryable']);
  for (let i = 10; i < 20; i++) await src.emit(logs(i * 10, 10));
  await eventually(() => received('rec').length === 200, 15_000, '200 events');
  t.same(
    received('rec').map(seqOf),
    Array.from({ length: 200 }, (_, i) => i),
    'in order, exactly once',
  );
  const writes = recorded.get('rec')!.writes;
  t.ok(writes.every((w, i) => i === 0 || w.delivery.first > writes[i - 1]!.delivery.last), 'ranges increase and never overlap');
  t.ok(writes.every((w) => w.delivery.instance === runtime.store.instance && w.delivery.token() === `rec@${w.delivery.instance}:${w.delivery.first}`), 'tokens carry the queue instance');
});
