import t from 'tap';
import { DiskQueue } from '../../src/core/buffer/queue.js';
import { RecentBatches, RecentBudget } from '../../src/core/buffer/recent-batches.js';
import { QueueStore } from '../../src/core/buffer/store.js';
import { decodeBatch, encodeBatch } from '../../src/core/codec/batch.js';
import { logs } from '../helpers/manual-source.js';
import { tempDir, type TestContext } from '../helpers/pipeline.js';

/*
 * A disk queue keeps its newest committed batches in memory so a sink that keeps up does not read
 * them back from SQLite (docs/ARCHITECTURE.md#reading-recent-batches). What is served must be
 * exactly what SQLite holds.
 */

const options = { type: 'disk', max_bytes: 2 ** 40, when_full: 'block' } as const;

function setup(t: TestContext, limit?: number) {
  const store = QueueStore.open(tempDir(t));
  t.teardown(() => store.close());
  if (limit !== undefined) (store as { recentBudget: RecentBudget }).recentBudget = new RecentBudget(limit);
  const queue = new DiskQueue(store, 's', options);
  const table = store.sinkTable('s');
  const put = (from: number, n: number): number => {
    const data = encodeBatch(logs(from, n));
    const createdUs = Date.now() * 1000;
    const seq = store.transaction(() => queue.append(data, n, createdUs));
    queue.committed({ seq, bytes: data.length, events: n, createdUs });
    return seq;
  };
  /** Overwrite a row on disk: a read that still sees the original came from memory. */
  const damageOnDisk = (seq: number) => store.db.prepare(`UPDATE ${table} SET data = x'00' WHERE seq = ?`).run(seq);
  return { store, queue, put, damageOnDisk };
}

const firstSeq = (data: Buffer) => Number((decodeBatch(data)[0] as { labels: Record<string, string> }).labels.seq);

t.test('a committed batch is read from memory, unchanged, its checksum already known', async (t) => {
  const { queue, put, damageOnDisk } = setup(t);
  const a = put(0, 3);
  const b = put(3, 3);
  damageOnDisk(a);
  damageOnDisk(b);
  const read = queue.payloads({ first: a, last: b });
  t.same(read.map((p) => firstSeq(p.data)), [0, 3], 'both batches, in order, as appended');
  t.ok(read.every((p) => p.verified === true && p.events === 3));
});

t.test('the encoder buffer a batch came from is reused before the commit: memory keeps a copy', async (t) => {
  const { store, queue } = setup(t);
  const data = Buffer.from(encodeBatch(logs(0, 2)));
  const seq = store.transaction(() => {
    const s = queue.append(data, 2, 1);
    data.fill(0); // the next batch of the same transaction being encoded
    return s;
  });
  queue.committed({ seq, bytes: data.length, events: 2, createdUs: 1 });
  t.equal(firstSeq(queue.payloads({ first: seq, last: seq })[0]!.data), 0);
});

t.test('a batch handed over as encoded (emitEncoded) is kept as it is, without a copy', async (t) => {
  const { store, queue } = setup(t);
  const data = Buffer.from(encodeBatch(logs(0, 2)));
  const seq = store.transaction(() => queue.append(data, 2, 1, 'upstream-1', true));
  queue.committed({ seq, bytes: data.length, events: 2, createdUs: 1, origin: 'upstream-1' });
  const [read] = queue.payloads({ first: seq, last: seq });
  t.equal(read!.data, data, 'the same buffer');
  t.equal(read!.origin, 'upstream-1');
});

t.test('an append whose transaction rolled back is never kept', async (t) => {
  const { store, queue, put } = setup(t);
  t.throws(() =>
    store.transaction(() => {
      queue.append(encodeBatch(logs(100, 1)), 1, 1);
      throw new Error('rolled back');
    }),
  );
  const seq = put(0, 1);
  t.same(queue.payloads({ first: seq - 1, last: seq }).map((p) => firstSeq(p.data)), [0], 'only the committed batch, from SQLite or memory alike');
});

t.test('a seq given out again after a rollback never serves the rolled-back bytes', async (t) => {
  // The rolled-back batch was small enough to keep, the batch appended at its seq is not: memory
  // must not answer for that seq with what the rollback left staged.
  const small = encodeBatch(logs(100, 1));
  const { store, queue, put } = setup(t, small.length + 10);
  t.throws(() =>
    store.transaction(() => {
      queue.append(small, 1, 1);
      throw new Error('rolled back');
    }),
  );
  const seq = put(0, 50);
  t.equal(store.recentBudget.used, 0, 'the larger batch is past the budget, so nothing is kept');
  const [read] = queue.payloads({ first: seq, last: seq });
  t.equal(firstSeq(read!.data), 0, 'the committed batch, from SQLite');
  t.equal(decodeBatch(read!.data).length, 50);
});

t.test('past the budget, batches are read from SQLite; delivered ones give their room back', async (t) => {
  const two = encodeBatch(logs(0, 50)).length + encodeBatch(logs(50, 50)).length;
  const { store, queue, put, damageOnDisk } = setup(t, two + 10);
  const seqs = [put(0, 50), put(50, 50), put(100, 50)];
  t.equal(store.recentBudget.used, two, 'two batches fit');
  const read = queue.payloads({ first: seqs[0]!, last: seqs[2]! });
  t.same(read.map((p) => firstSeq(p.data)), [0, 50, 100], 'the whole range, in order');
  t.same(read.map((p) => p.verified === true), [true, true, false], 'the two kept from memory, the third from SQLite');
  const metas = queue.head(2);
  queue.ack({ first: seqs[0]!, last: seqs[1]! }, metas, []);
  t.equal(store.recentBudget.used, 0, 'delivered batches are forgotten');
  const next = put(150, 50);
  damageOnDisk(next);
  t.equal(firstSeq(queue.payloads({ first: next, last: next })[0]!.data), 150, 'room for new batches again');
});

t.test('a range partly kept is read from memory where it can, and from SQLite only in the gaps', async (t) => {
  // Four-digit sequence labels: every batch has the same size.
  const size = encodeBatch(logs(1000, 50)).length;
  const { store, queue, put, damageOnDisk } = setup(t, 2 * size + 10);
  const seqs = [1000, 1050, 1100, 1150, 1200].map((from) => put(from, 50));
  // A sink with a backlog: the first two are delivered, and the room they give back goes to the
  // batches appended next, so the kept run starts in the middle of the next delivery's range.
  queue.ack({ first: seqs[0]!, last: seqs[1]! }, queue.head(2), []);
  const later = [1250, 1300, 1350].map((from) => put(from, 50));
  t.equal(store.recentBudget.used, 2 * size, 'two of the later batches are kept');
  // On disk, the kept batches are damaged: what is read of them must come from memory.
  damageOnDisk(later[0]!);
  damageOnDisk(later[1]!);
  const read = queue.payloads({ first: seqs[2]!, last: later[2]! });
  t.same(
    read.map((p) => p.seq),
    [seqs[2], seqs[3], seqs[4], ...later],
    'every batch of the range once, in order',
  );
  t.same(
    read.map((p) => p.verified === true),
    [false, false, false, true, true, false],
    'the two kept batches from memory, the gaps before and after them from SQLite',
  );
  t.same(
    read.map((p) => firstSeq(p.data)),
    [1100, 1150, 1200, 1250, 1300, 1350],
    'each batch as appended',
  );
});

t.test('the queues of one database share the budget', async (t) => {
  const budget = new RecentBudget(100);
  const a = new RecentBatches(budget);
  const b = new RecentBatches(budget);
  const data = Buffer.alloc(60);
  const batch = { seq: 1, bytes: data.length, events: 1, createdUs: 0 };
  a.stage(1, data);
  b.stage(1, data);
  a.commit(batch);
  b.commit(batch);
  t.equal(a.within(1, 1).length, 1, 'the first fits');
  t.equal(b.within(1, 1).length, 0, 'the second would exceed what both may keep');
  a.clear();
  t.equal(budget.used, 0);
});
