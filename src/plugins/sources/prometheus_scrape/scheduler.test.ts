import t from 'tap';
import { received, eventually, startPipeline } from '../../../testing/index.js';
import { firstSlot, hash32, TargetLoop, type SkipReason } from './scheduler.js';
import { reportSeries, serve } from './testdata/helpers.js';

t.test('each target has a fixed phase within the interval, from a hash of its identity', async (t) => {
  const interval = 15_000;
  const now = 1_700_000_000_123;
  const key = 'http://10.0.0.1:9100/metrics';
  const slot = firstSlot(now, interval, key);
  t.ok(slot >= now && slot < now + interval, 'the first slot is within one interval');
  t.equal(slot % interval, hash32(key) % interval, 'at the phase of the key');
  t.equal(firstSlot(now + 5 * interval, interval, key) % interval, slot % interval, 'the same phase at any time (and across restarts)');
  t.equal(hash32('abc'), 0x1a47e90b, 'FNV-1a');
  const phases = new Set(Array.from({ length: 100 }, (_, i) => Math.floor((firstSlot(now, interval, `http://10.0.0.${i}:9100/metrics`) % interval) / 1000)));
  t.ok(phases.size >= 10, `100 targets spread over the 15 one-second parts of the interval (${phases.size} used)`);
});

t.test('a loop never overlaps its scrapes: slots that pass during a slow scrape are skipped', async (t) => {
  let running = 0;
  let maxRunning = 0;
  let scrapes = 0;
  const skipped: Array<[SkipReason, number]> = [];
  const loop = new TargetLoop('slow', 20, {
    scrape: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      scrapes++;
      await new Promise((r) => setTimeout(r, 70));
      running--;
    },
    isBlocked: () => false,
    skipped: (reason, slots) => skipped.push([reason, slots]),
    failed: () => undefined,
  });
  loop.start();
  await eventually(() => scrapes >= 3, 5000, 'three scrapes');
  await loop.stop();
  t.equal(maxRunning, 1, 'one scrape at a time');
  t.ok(skipped.length >= 2 && skipped.every(([reason, n]) => reason === 'overrun' && n >= 1), 'the slots in between were skipped as overruns');
  await loop.stop();
  t.pass('stop is idempotent');
});

t.test('a due scrape is skipped while the queue is blocked', async (t) => {
  let blocked = true;
  let scrapes = 0;
  const skipped: SkipReason[] = [];
  const loop = new TargetLoop('blocked', 10, {
    scrape: async () => {
      scrapes++;
    },
    isBlocked: () => blocked,
    skipped: (reason) => skipped.push(reason),
    failed: () => undefined,
  });
  loop.start();
  // Slots missed because the event loop itself ran late (a loaded machine) are counted as
  // overruns; the ones that came due while blocked are counted as blocked.
  await eventually(() => skipped.filter((r) => r === 'blocked').length >= 3, 5000, 'skips counted as blocked');
  t.equal(scrapes, 0, 'no scrape while blocked');
  blocked = false;
  await eventually(() => scrapes >= 1, 5000, 'a scrape once unblocked');
  await loop.stop();
});

t.test('a scrape that throws does not end the loop', async (t) => {
  let scrapes = 0;
  const failures: unknown[] = [];
  const loop = new TargetLoop('throws', 10, {
    scrape: async () => {
      scrapes++;
      throw new Error(`boom ${scrapes}`);
    },
    isBlocked: () => false,
    skipped: () => undefined,
    failed: (err) => failures.push(err),
  });
  loop.start();
  await eventually(() => scrapes >= 3, 5000, 'three scrapes');
  await loop.stop();
  t.match(failures.slice(0, 2), [{ message: 'boom 1' }, { message: 'boom 2' }]);
});

t.test('stop aborts a scrape in flight', async (t) => {
  let aborted = false;
  const loop = new TargetLoop('stuck', 10, {
    scrape: (signal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve();
        });
      }),
    isBlocked: () => false,
    skipped: () => undefined,
    failed: () => undefined,
  });
  loop.start();
  await new Promise((r) => setTimeout(r, 50));
  await loop.stop();
  t.ok(aborted);
});

t.test('through the runtime: no overlapping requests to a slow target, and skips while the sink queue is full', async (t) => {
  const slow = await serve(t, async (_req, res) => {
    await new Promise((r) => setTimeout(r, 150));
    res.end('slow_metric 1\n');
  });
  await startPipeline(
    t,
    `
[sources.slow]
type = "prometheus_scrape"
endpoints = ["${slow.url}"]
interval = "200ms"
timeout = "190ms"

[sinks.rec_slow]
type = "memory_recorder"
inputs = ["slow"]
`,
  );
  await eventually(() => reportSeries(received('rec_slow'), 'up').length >= 3, 10_000, 'three scrapes');
  t.equal(slow.inFlight.max, 1, 'never two requests to one target at once');

  const target = await serve(t, (_req, res) => res.end('some_metric 1\n'));
  const { runtime } = await startPipeline(
    t,
    `
[shutdown]
timeout_secs = 2

[sources.app]
type = "prometheus_scrape"
endpoints = ["${target.url}"]
interval = "100ms"
timeout = "90ms"

[sinks.rec_full]
type = "memory_recorder"
inputs = ["app"]
delay_ms = 5000
buffer = { max_bytes = 64 }
`,
  );
  const skippedCount = async () =>
    Number(/thermocline_prometheus_scrape_skipped_scrapes_total\{component_id="app"\} (\d+)/.exec(await runtime.metrics.text())?.[1] ?? 0);
  await eventually(async () => (await skippedCount()) >= 5, 10_000, 'skipped scrapes');
  t.ok(target.requests.length <= 2, `the target is not scraped while the queue is full (${target.requests.length} requests)`);
  t.ok((runtime.queueOf('rec_full')?.events ?? 0) <= 10, 'scrapes do not pile up in the queue');
});
