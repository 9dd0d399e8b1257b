import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { LogEvent } from '../../src/core/events.js';
import type { WriteMeta } from '../../src/index.js';
import { received, recorded } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline, tempDir } from '../helpers/pipeline.js';

/*
 * Batches emitted with an upstream identity (EmitOptions.origins): each is queued and delivered
 * alone, under a token built from the sink and the origin, so two agents that receive the same
 * upstream batch hand their store the same token (docs/delivery.md#upstream-identity).
 */

const seqOf = (e: unknown) => Number((e as LogEvent).labels.seq);
const extra = [manualSource];
const toml = (delay = 0) => `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = ${delay}\nbatch = { max_events = 1000, timeout_secs = 0.05 }\n`;

/** Emits 3 upstream batches (4, 3 and 5 events) in one call, then 2 plain batches. */
async function emitMixed(): Promise<void> {
  const src = manualSources.get('m')!;
  await src.emit(logs(0, 12), { at: 1 }, { origins: [{ id: 'bus:a', count: 4 }, { id: 'bus:b', count: 3 }, { id: 'bus:c', count: 5 }] });
  await src.emit(logs(12, 2));
  await src.emit(logs(14, 2));
}

const tokens = (writes: readonly WriteMeta[]) => writes.map((w) => w.delivery.token());

t.test('each upstream batch is delivered alone under its own token; plain batches still merge', async (t) => {
  const { runtime } = await startPipeline(t, toml(), { extra });
  await emitMixed();
  await eventually(() => received('rec').length === 16);
  const writes = recorded.get('rec')!.writes;
  t.same(
    writes.slice(0, 3).map((w) => [w.delivery.origin, w.delivery.first === w.delivery.last]),
    [
      ['bus:a', true],
      ['bus:b', true],
      ['bus:c', true],
    ],
    'one delivery per origin, in order, each a single queued batch',
  );
  t.same(tokens(writes.slice(0, 3)), ['rec@origin:bus:a', 'rec@origin:bus:b', 'rec@origin:bus:c']);
  t.same(
    received('rec').map(seqOf),
    Array.from({ length: 16 }, (_, i) => i),
    'every event once, in order',
  );
  t.ok(
    writes.slice(3).every((w) => w.delivery.origin === undefined && w.delivery.token().startsWith(`rec@${runtime.store.instance}:`)),
    'batches without an origin keep the queue-named tokens',
  );
  t.same(runtime.store.getCheckpoint('m'), { at: 1 }, 'the checkpoint committed with the upstream batches');
});

t.test('two agents receiving the same upstream batches build the same tokens', async (t) => {
  const first = await startPipeline(t, toml(), { extra });
  await emitMixed();
  await eventually(() => received('rec').length === 16);
  const onFirst = tokens(recorded.get('rec')!.writes);
  await first.runtime.stop();

  const second = await startPipeline(t, toml(), { extra });
  t.not(second.runtime.store.instance, first.runtime.store.instance, 'another queue database');
  await emitMixed();
  await eventually(() => received('rec').length === 16);
  const onSecond = tokens(recorded.get('rec')!.writes);
  t.same(onSecond.slice(0, 3), onFirst.slice(0, 3), 'the upstream batches: equal tokens, so a store drops the second copy');
  t.notSame(onSecond.slice(3), onFirst.slice(3), 'the plain batches: each agent names its own');
});

t.test('a pinned upstream batch is replayed after a crash under the same token', async (t) => {
  const dataDir = tempDir(t);
  // The first agent's write is held long enough to copy its database mid-delivery (the crash).
  const first = await startPipeline(t, `[shutdown]\ntimeout_secs = 1\n${toml(3_000)}`, { dataDir, extra });
  await manualSources.get('m')!.emit(logs(0, 6), undefined, { origins: [{ id: 'bus:x', count: 6 }] });
  await eventually(() => first.runtime.store.db.prepare('select 1 from deliveries').get() !== undefined, 5000, 'the delivery is pinned');
  const copy = tempDir(t);
  first.runtime.store.db.pragma('wal_checkpoint(FULL)');
  for (const f of fs.readdirSync(dataDir)) fs.copyFileSync(path.join(dataDir, f), path.join(copy, f));
  await startPipeline(t, toml(), { dataDir: copy, extra });
  await eventually(() => received('rec').length === 6);
  t.same(tokens(recorded.get('rec')!.writes), ['rec@origin:bus:x'], 'replayed whole, under the origin');
});

t.test('a queue made before batches had origins gains the column and keeps what it holds', async (t) => {
  const dataDir = tempDir(t);
  const first = await startPipeline(t, `[shutdown]\ntimeout_secs = 1\n${toml(100_000)}`, { dataDir, extra });
  await manualSources.get('m')!.emit(logs(0, 3));
  await first.runtime.stop();
  // What an older agent left: the queue table without the column.
  const db = new Database(path.join(dataDir, 'queue.db'));
  const table = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'q\\_%' ESCAPE '\\'`).get() as { name: string }).name;
  db.exec(`ALTER TABLE ${table} DROP COLUMN origin`);
  t.notOk(db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = 'origin'`).get(table), 'an old-style table');
  db.close();

  const second = await startPipeline(t, toml(), { dataDir, extra });
  await manualSources.get('m')!.emit(logs(3, 2), undefined, { origins: [{ id: 'bus:y', count: 2 }] });
  await eventually(() => received('rec').length === 5);
  t.same(received('rec').map(seqOf), [0, 1, 2, 3, 4], 'the old batch and the new one, once each');
  t.ok(second.runtime.store.db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = 'origin'`).get(table), 'the column was added');
  t.equal(recorded.get('rec')!.writes.at(-1)?.delivery.origin, 'bus:y');
});

t.test('origins that do not describe the events are refused with what is wrong', async (t) => {
  await startPipeline(t, toml(), { extra });
  const src = manualSources.get('m')!;
  await t.rejects(src.emit(logs(0, 3), undefined, { origins: [{ id: 'a', count: 2 }] }), /emitted 3 events but its origins count 2/);
  await t.rejects(src.emit(logs(0, 1), undefined, { origins: [{ id: '', count: 1 }] }), /ids are 1 to 256 characters/);
  await t.rejects(src.emit(logs(0, 1), undefined, { origins: [{ id: 'x'.repeat(257), count: 1 }] }), /ids are 1 to 256 characters/);
  await t.rejects(src.emit(logs(0, 1), undefined, { origins: [{ id: 'a', count: 1.5 }] }), /whole numbers/);
  t.equal(received('rec').length, 0, 'nothing was queued');
});

t.test('each upstream batch is routed on its own, and a part routed nowhere queues nothing', async (t) => {
  const routed = `[sources.m]\ntype = "manual"\n[transforms.keep]\ntype = "route"\ninputs = ["m"]\nroute.even = { labels = { seq = ["0", "2", "4"] } }\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["keep.even"]\nbatch = { max_events = 1000, timeout_secs = 0.05 }\n`;
  await startPipeline(t, routed, { extra });
  await manualSources.get('m')!.emit(logs(0, 7), undefined, { origins: [{ id: 'o1', count: 3 }, { id: 'o2', count: 3 }, { id: 'o3', count: 1 }] });
  await eventually(() => received('rec').length === 3);
  await new Promise((r) => setTimeout(r, 100));
  t.same(
    recorded.get('rec')!.writes.map((w) => w.delivery.origin),
    ['o1', 'o2'],
    'one delivery per origin that reached the sink (o3 held only seq 6)',
  );
  t.same(received('rec').map(seqOf), [0, 2, 4]);
});
