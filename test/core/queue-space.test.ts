/**
 * The queue database stays bounded (docs/operations.md#disk-space): space freed by deliveries
 * goes back to the file system, dead letters are pruned by age and size, and a data_dir whose
 * disk fills up refuses new batches and takes them again, without a restart, once space returns.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { QueueMaintenance } from '../../src/core/buffer/maintenance.js';
import { DiskQueue } from '../../src/core/buffer/queue.js';
import { QueueStore } from '../../src/core/buffer/store.js';
import type { LogEvent } from '../../src/core/events.js';
import { received } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline, tempDir } from '../helpers/pipeline.js';
import { fill, smallDisk } from '../helpers/small-disk.js';

const week = 7 * 86_400_000;

function fillQueue(store: QueueStore, queue: DiskQueue, mib: number): void {
  const blob = randomBytes(256 * 1024);
  for (let i = 0; i < mib * 4; i++) {
    const createdUs = Date.now() * 1000;
    const seq = store.transaction(() => queue.append(blob, 1, createdUs));
    queue.committed({ seq, bytes: blob.length, events: 1, createdUs });
  }
}

function drain(queue: DiskQueue): void {
  for (let head = queue.head(16); head.length > 0; head = queue.head(16)) queue.ack({ first: head[0]!.seq, last: head.at(-1)!.seq }, head, []);
}

const onDisk = (store: QueueStore) => {
  const s = store.fileBytes();
  return s.db + s.wal;
};

t.test('a drained 32 MiB backlog gives its space back: queue.db and its WAL end below twice the idle size', async (t) => {
  const store = QueueStore.open(tempDir(t));
  t.teardown(() => store.close());
  const queue = new DiskQueue(store, 's', { type: 'disk', max_bytes: 2 ** 40, when_full: 'block' });
  const maintenance = new QueueMaintenance(store, { deadLetterMaxAgeMs: week, deadLetterMaxBytes: 2 ** 28 });
  for (let i = 0; i < 3; i++) maintenance.tick();
  const idle = onDisk(store);
  fillQueue(store, queue, 32);
  const full = onDisk(store);
  t.ok(full > 32 * 2 ** 20, `the backlog is on disk (${full} bytes)`);
  drain(queue);
  t.ok(onDisk(store) > full / 2, 'a drain alone does not shrink the file');
  t.ok(store.freePages() > 400, 'it leaves free pages');
  let reclaimed = 0;
  const counting = new QueueMaintenance(store, { deadLetterMaxAgeMs: week, deadLetterMaxBytes: 2 ** 28, onReclaimed: (b) => (reclaimed += b) });
  for (let i = 0; i < 200 && (store.freePages() > 0 || store.fileBytes().wal > 0); i++) counting.tick();
  const after = onDisk(store);
  t.equal(store.freePages(), 0, 'every free page given back');
  t.equal(store.fileBytes().wal, 0, 'the WAL truncated once idle');
  t.ok(after < 2 * Math.max(idle, 1 << 20), `${after} bytes after the drain, idle was ${idle}`);
  t.ok(reclaimed >= 400 * 65536, `reported ${reclaimed} reclaimed bytes`);
});

t.test('a queue database made without incremental vacuum is converted once at open, keeping its data', async (t) => {
  const dir = tempDir(t);
  const first = QueueStore.open(dir);
  const queue = new DiskQueue(first, 's', { type: 'disk', max_bytes: 2 ** 40, when_full: 'block' });
  first.transaction(() => queue.append(Buffer.from('batch'), 1, 1));
  first.close();
  const raw = new Database(path.join(dir, 'queue.db'));
  raw.pragma('auto_vacuum = NONE');
  raw.exec('VACUUM');
  t.equal(raw.pragma('auto_vacuum', { simple: true }), 0, 'as an older release made it');
  raw.close();
  const store = QueueStore.open(dir);
  t.teardown(() => store.close());
  t.equal(store.openNote?.converted, true);
  t.equal(store.db.pragma('auto_vacuum', { simple: true }), 2, 'incremental');
  t.equal(new DiskQueue(store, 's', { type: 'disk', max_bytes: 2 ** 40, when_full: 'block' }).batches, 1, 'the queued batch is still there');
  const again = QueueStore.open(tempDir(t));
  t.teardown(() => again.close());
  t.equal(again.openNote, undefined, 'a new database needs no conversion');
});

t.test('dead letters are pruned by age, then oldest first by size, and counted', async (t) => {
  const dir = tempDir(t);
  const store = QueueStore.open(dir);
  const entry = (seq: number) => ({ sink: 'rec', seq, error: 'e', events: 1, data: Buffer.alloc(1000, seq) });
  for (let i = 1; i <= 6; i++) store.addDeadLetter(entry(i));
  // Entry 1 failed eight days ago.
  store.db.prepare('UPDATE dead_letter SET failed_us = ? WHERE id = 1').run((Date.now() - 8 * 86_400_000) * 1000);
  store.close();

  // Start-up prunes at once: entry 1 by age, then entries 2 and 3 to fit 3,100 bytes (1,001 each).
  const { runtime } = await startPipeline(t, `[queue.dead_letter]\nmax_age_secs = 604800\nmax_bytes = 3100\n[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\n`, { dataDir: dir, extra: [manualSource] });
  const ids = (runtime.store.db.prepare('SELECT id FROM dead_letter ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
  t.same(ids, [4, 5, 6], 'the newest that fit are kept');
  const text = await runtime.metrics.text();
  t.match(text, /thermocline_dead_letters_pruned_total\{reason="max_age"\} 1\n/);
  t.match(text, /thermocline_dead_letters_pruned_total\{reason="max_bytes"\} 2\n/);
  t.match(text, /thermocline_dead_letter_bytes 3003\n/);
  t.match(text, /thermocline_dead_letter_entries 3\n/);
  t.match(text, /thermocline_queue_file_bytes\{file="db"\} [1-9]/);
});

t.test('a full disk refuses new batches and takes them again once space returns, without a restart', async (t) => {
  const disk = smallDisk(t, '24m');
  // Mounting needs root (CI and the development machines run as root); say so rather than pass.
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)', () => {});
  const dataDir = path.join(disk, 'data');
  const { runtime } = await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\n`, { dataDir, extra: [manualSource] });
  const src = manualSources.get('m')!;
  t.equal(await src.emit(logs(0, 10)), 'accepted');
  await eventually(() => received('rec').length === 10, 10_000, 'delivered before the disk fills');

  const filler = path.join(disk, 'filler');
  fill(filler);
  // The WAL may still have room from earlier writes, so a few batches may fit; big ones cannot.
  let refusal: unknown;
  let accepted = 10;
  for (let i = 0; i < 50 && refusal === undefined; i++) {
    try {
      await src.emit(logs(accepted, 500, 'x'.repeat(2000)));
      accepted += 500;
    } catch (err) {
      refusal = err;
    }
  }
  t.match((refusal as { code?: string } | undefined)?.code, /^SQLITE_FULL|^SQLITE_IOERR/, 'emit throws while the disk is full');

  fs.rmSync(filler);
  t.equal(await src.emit(logs(accepted, 10)), 'accepted', 'accepted again once space returned');
  accepted += 10;
  await eventually(() => received('rec').length === accepted, 30_000, 'everything accepted delivered');
  const seqs = received('rec').map((e) => Number((e as LogEvent).labels.seq));
  t.same(seqs, Array.from({ length: accepted }, (_, i) => i), 'each accepted event once, in order; the refused batch is not there');
  await eventually(() => runtime.queueOf('rec')!.batches === 0, 10_000, 'queue drained');
});

t.test('maintenance does not wait on the event loop for another connection: it retries at a later tick', async (t) => {
  const dir = tempDir(t);
  const store = QueueStore.open(dir);
  t.teardown(() => store.close());
  const queue = new DiskQueue(store, 's', { type: 'disk', max_bytes: 2 ** 40, when_full: 'block' });
  fillQueue(store, queue, 4);
  drain(queue);
  // A reader such as `thermocline dead-letter` holding a snapshot, then a writer holding the lock.
  const other = new Database(path.join(dir, 'queue.db'));
  t.teardown(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  const maintenance = new QueueMaintenance(store, { deadLetterMaxAgeMs: week, deadLetterMaxBytes: 2 ** 28 });
  const started = performance.now();
  maintenance.tick();
  maintenance.tick();
  // The busy timeout is 5 s: a tick that waited for the lock would take at least that long.
  t.ok(performance.now() - started < 4000, 'the ticks returned without waiting for the lock');
  t.ok(store.freePages() > 0, 'nothing reclaimed while the other connection holds the lock');
  other.exec('ROLLBACK');
  for (let i = 0; i < 50 && (store.freePages() > 0 || store.fileBytes().wal > 0); i++) maintenance.tick();
  t.equal(store.freePages(), 0, 'reclaimed once it let go');
  t.equal(store.fileBytes().wal, 0, 'and the WAL truncated');
});

t.test('while batches flow, a few freed pages are left for the next appends to reuse', async (t) => {
  const store = QueueStore.open(tempDir(t));
  t.teardown(() => store.close());
  const queue = new DiskQueue(store, 's', { type: 'disk', max_bytes: 2 ** 40, when_full: 'block' });
  const maintenance = new QueueMaintenance(store, { deadLetterMaxAgeMs: week, deadLetterMaxBytes: 2 ** 28 });
  fillQueue(store, queue, 8);
  const head = queue.head(8);
  queue.ack({ first: head[0]!.seq, last: head.at(-1)!.seq }, head, []);
  const free = store.freePages();
  t.ok(free > 0, 'a delivery freed pages');
  maintenance.tick(); // the first tick only learns the write count
  store.setState('x', 'k', 1); // still busy: a small write that leaves the freed pages alone
  maintenance.tick();
  t.ok(store.freePages() > 0, 'not vacuumed while writes go on (2 MiB free of an 8 MiB file)');
  maintenance.tick(); // nothing written since the last tick: idle
  t.equal(store.freePages(), 0, 'given back once idle');
});

t.test('while batches flow, free pages up to what the queue holds are kept for the next appends; a drained backlog beyond that is given back', async (t) => {
  const store = QueueStore.open(tempDir(t));
  t.teardown(() => store.close());
  const queue = new DiskQueue(store, 's', { type: 'disk', max_bytes: 2 ** 40, when_full: 'block' });
  const maintenance = new QueueMaintenance(store, { deadLetterMaxAgeMs: week, deadLetterMaxBytes: 2 ** 28 });
  const pagesOf = (mib: number) => (mib * 2 ** 20) / store.pageSize;
  const ackOldest = (mib: number) => {
    const head = queue.head(mib * 4);
    queue.ack({ first: head[0]!.seq, last: head.at(-1)!.seq }, head, []);
  };
  const busyTicks = (n: number) => {
    for (let i = 0; i < n; i++) {
      store.setState('x', 'k', i); // a write between ticks: batches still flow
      maintenance.tick();
    }
  };
  maintenance.tick(); // the first tick only learns the write count
  // A large delivery acknowledged: 24 MiB free beside 24 MiB of batches, more than 16 MiB and a
  // quarter of the file. The next appends would take those pages again.
  fillQueue(store, queue, 48);
  ackOldest(24);
  const free = store.freePages();
  t.ok(free >= pagesOf(24), `${free} pages free`);
  busyTicks(5);
  t.equal(store.freePages(), free, 'nothing vacuumed while batches flow and the free pages are no more than the batches fill');
  // Most of the queue drained while batches still flow: what is free beyond the 16 MiB reserve
  // and beyond what the remaining batches fill goes back now, the rest once idle.
  ackOldest(20);
  const inUse = store.pageCount() - store.freePages();
  busyTicks(20);
  const kept = store.freePages();
  t.ok(kept >= pagesOf(16) && kept >= inUse, `${kept} pages kept free: the reserve (16 MiB, at least the ${inUse} pages in use)`);
  t.ok(kept <= Math.max(pagesOf(16), inUse) + 32, 'and only about that much');
  maintenance.tick(); // idle
  for (let i = 0; i < 20 && store.freePages() > 0; i++) maintenance.tick();
  t.equal(store.freePages(), 0, 'everything given back once idle');
});
