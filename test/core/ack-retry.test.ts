/**
 * A delivery the destination accepted but the queue database could not acknowledge (a full
 * disk, another connection holding the write lock) is acknowledged again with backoff: the sink
 * says so in /health, the batch is not written twice, and nothing waits for a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { defineSink, z, type TelemetryEvent, type WriteMeta } from '../../src/index.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline, tempDir } from '../helpers/pipeline.js';
import { fill, smallDisk } from '../helpers/small-disk.js';

/** Writes wait for the test to open the gate, so that it can break the queue database meanwhile. */
const gate = { open: Promise.resolve(), release: () => {} };
function closeGate(): void {
  gate.open = new Promise<void>((resolve) => (gate.release = resolve));
}
const writes: Array<{ meta: WriteMeta; events: TelemetryEvent[] }> = [];
const gatedSink = defineSink({
  type: 'gated',
  summary: 'Test sink: each write waits for the test to open the gate.',
  config: z.strictObject({}),
  create: () => ({
    async write(events, meta) {
      await gate.open;
      writes.push({ meta, events });
    },
  }),
});

const config = `[sources.m]
type = "manual"
[sinks.g]
type = "gated"
inputs = ["m"]
batch = { max_events = 100, timeout_secs = 0.01 }
retry = { initial_backoff_secs = 0.05, max_backoff_secs = 0.2 }
`;

const stateOf = (runtime: { statuses(): Array<{ id: string; state: string }> }) => runtime.statuses().find((s) => s.id === 'g')?.state;

t.beforeEach(() => {
  writes.length = 0;
  closeGate();
});

t.test('another connection holding the write lock: the acknowledgement waits, the batch is written once', async (t) => {
  const dataDir = tempDir(t);
  const { runtime } = await startPipeline(t, config, { dataDir, extra: [manualSource, gatedSink] });
  await manualSources.get('m')!.emit(logs(0, 10));
  const locker = new Database(path.join(dataDir, 'queue.db'));
  t.teardown(() => locker.close());
  await eventually(() => runtime.queueOf('g')!.pinned() !== undefined, 10_000, 'delivery pinned');
  locker.exec('BEGIN IMMEDIATE');
  gate.release();
  await eventually(() => stateOf(runtime) === 'degraded', 30_000, 'sink degraded while the acknowledgement fails');
  t.equal(writes.length, 1, 'written once');
  locker.exec('ROLLBACK');
  await eventually(() => runtime.queueOf('g')!.batches === 0, 30_000, 'acknowledged once the lock is gone');
  t.equal(writes.length, 1, 'not written again');
  t.equal(stateOf(runtime), 'running');
  t.match(await runtime.metrics.text(), /thermocline_component_errors_total\{component_id="g",component_kind="sink",component_type="gated",error_type="ack"\} [1-9]/);
});

t.test('a data_dir whose disk fills up and frees: acknowledged after the space returns, nothing sent twice', async (t) => {
  const disk = smallDisk(t, '48m');
  // Mounting needs root (CI and the development machines run as root); say so rather than pass.
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)', () => {});
  const dataDir = path.join(disk, 'data');
  const { runtime } = await startPipeline(t, config, { dataDir, extra: [manualSource, gatedSink] });
  const src = manualSources.get('m')!;
  for (let i = 0; i < 5; i++) await src.emit(logs(i * 20, 20));
  await eventually(() => runtime.queueOf('g')!.pinned() !== undefined, 10_000, 'delivery pinned');
  const filler = path.join(disk, 'filler');
  fill(filler);
  gate.release();
  await eventually(() => stateOf(runtime) === 'degraded', 30_000, 'sink degraded while the disk is full');
  t.equal(writes.length, 1, 'the first delivery was written once');
  t.equal(runtime.queueOf('g')!.pinned()?.first, writes[0]!.meta.delivery.first, 'and stays pinned, unacknowledged');
  fs.rmSync(filler);
  await eventually(() => runtime.queueOf('g')!.batches === 0, 30_000, 'everything delivered once space returned');
  const seqs = writes.flatMap((w) => w.events.map((e) => Number((e as { labels: Record<string, string> }).labels.seq)));
  t.same(seqs, Array.from({ length: 100 }, (_, i) => i), 'every event once, in order');
  t.equal(stateOf(runtime), 'running');
});
