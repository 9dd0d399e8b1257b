/**
 * Queue space benchmark: fills one sink's disk queue with a backlog, drains it as deliveries do
 * (acknowledging ranges), then lets `QueueMaintenance` give the space back, and prints the sizes
 * of queue.db and its WAL at each stage. Baseline: the size after the drain without maintenance,
 * which is what the file stayed at before incremental vacuum (SQLite only reuses free pages).
 * Also prints the longest maintenance tick, the event-loop stall it can cause.
 *
 *   npx tsx bench/queue-space.ts [backlog_mib=256] [batch_kib=256]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { QueueMaintenance } from '../src/core/buffer/maintenance.js';
import { DiskQueue } from '../src/core/buffer/queue.js';
import { QueueStore } from '../src/core/buffer/store.js';

const backlogMiB = Number(process.argv[2] ?? 256);
const batchKiB = Number(process.argv[3] ?? 256);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-space-'));
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

const store = QueueStore.open(dir);
const queue = new DiskQueue(store, 'sink', { type: 'disk', max_bytes: Number.MAX_SAFE_INTEGER, when_full: 'block' });
const sizes = (label: string) => {
  const s = store.fileBytes();
  console.log(`${label.padEnd(34)} queue.db ${mib(s.db).padStart(11)}  wal ${mib(s.wal).padStart(10)}  free pages ${store.freePages()}`);
  return s;
};

const idle = sizes('idle (empty database)');
// Incompressible blobs: SQLite does not compress, so content does not change the figures.
const blob = randomBytes(batchKiB * 1024);
const batches = Math.ceil((backlogMiB * 1024) / batchKiB);
let t0 = performance.now();
for (let i = 0; i < batches; i++) {
  const createdUs = Date.now() * 1000;
  const seq = store.transaction(() => queue.append(blob, 100, createdUs));
  queue.committed({ seq, bytes: blob.length, events: 100, createdUs });
}
console.log(`filled ${batches} batches of ${batchKiB} KiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const full = sizes('backlog queued');
t0 = performance.now();
for (;;) {
  const head = queue.head(16);
  if (head.length === 0) break;
  queue.ack({ first: head[0]!.seq, last: head[head.length - 1]!.seq }, head, []);
}
console.log(`drained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const drained = sizes('drained, before maintenance');

const maintenance = new QueueMaintenance(store, { deadLetterMaxAgeMs: 7 * 86_400_000, deadLetterMaxBytes: 256 * 2 ** 20 });
// Reclaiming ticks are bounded by the tick budget; the tick that truncates the WAL copies what is
// left in it into the database, which costs what SQLite's own automatic checkpoint costs.
let longest = 0;
let checkpointMs = 0;
let ticks = 0;
const tickMs: string[] = [];
t0 = performance.now();
// Ticks until the WAL is truncated too: two quiet ticks after the last page is reclaimed.
while (ticks < 100_000) {
  const t = performance.now();
  const reclaiming = store.freePages() > 0;
  maintenance.tick();
  tickMs.push((performance.now() - t).toFixed(0));
  if (reclaiming) longest = Math.max(longest, performance.now() - t);
  else checkpointMs = Math.max(checkpointMs, performance.now() - t);
  ticks++;
  const s = store.fileBytes();
  if (store.freePages() === 0 && s.wal === 0) break;
}
console.log(`maintenance: ${ticks} ticks in ${((performance.now() - t0) / 1000).toFixed(1)} s, longest reclaiming tick ${longest.toFixed(1)} ms, WAL truncation tick ${checkpointMs.toFixed(1)} ms`);
console.log(`tick durations (ms): ${tickMs.join(' ')}`);
const after = sizes('after maintenance');
console.log(
  `\nbacklog ${mib(full.db + full.wal)} on disk; after the drain: ${mib(drained.db + drained.wal)} without maintenance (baseline), ${mib(after.db + after.wal)} with it` +
    `\nratio after/backlog ${((after.db + after.wal) / (full.db + full.wal)).toFixed(4)}, after/idle ${((after.db + after.wal) / (idle.db + idle.wal)).toFixed(2)}` +
    `\npeak RSS ${mib(process.resourceUsage().maxRSS * 1024)}`,
);
store.close();
fs.rmSync(dir, { recursive: true, force: true });
