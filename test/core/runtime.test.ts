import t from 'tap';
import { z } from 'zod';
import { defineSink } from '../../src/core/plugin/define.js';
import { RetryableError } from '../../src/core/errors.js';
import { Runtime } from '../../src/core/runtime/runtime.js';
import { createLogger } from '../../src/core/runtime/logger.js';
import { Writable } from 'node:stream';
import { received, recorded } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, loadTestConfig, startPipeline, tempDir } from '../helpers/pipeline.js';

let flakyStarts = 0;
const flaky = defineSink({
  type: 'test_flaky_start',
  summary: 'Test sink whose start fails twice and whose health check fails.',
  config: z.strictObject({ healthy: z.boolean().default(true) }),
  create(config) {
    return {
      async start() {
        flakyStarts++;
        if (flakyStarts <= 2) throw new RetryableError('database is not up yet');
      },
      async healthcheck() {
        if (!config.healthy) throw new Error('permission denied for table metrics_points');
      },
      async write() {},
    };
  },
});

const throwsInCreate = defineSink({
  type: 'test_bad_create',
  summary: 'Test sink that throws in create.',
  config: z.strictObject({}),
  create() {
    throw new Error('missing certificate file /etc/x.pem');
  },
});

t.test('a sink whose start fails is retried in the background; data queues meanwhile', async (t) => {
  flakyStarts = 0;
  const { runtime } = await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.f]\ntype = "test_flaky_start"\ninputs = ["m"]\n`, { extra: [manualSource, flaky] });
  const status = () => runtime.statuses().find((s) => s.id === 'f');
  t.equal(status()?.state, 'failed');
  t.match(status()?.error, /database is not up yet/);
  await manualSources.get('m')!.emit(logs(0, 3));
  t.equal(runtime.queueOf('f')?.events, 3, 'accepted into the queue while the sink is down');
  await eventually(() => status()?.state === 'running', 15_000, 'started after retries');
  await eventually(() => runtime.queueOf('f')?.events === 0, 5000, 'queue drained');
  t.equal(flakyStarts, 3);
});

t.test('a failing health check marks the sink degraded but keeps delivering', async (t) => {
  flakyStarts = 10;
  const { runtime, logs: captured } = await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.f]\ntype = "test_flaky_start"\ninputs = ["m"]\nhealthy = false\n`, {
    extra: [manualSource, flaky],
  });
  const status = runtime.statuses().find((s) => s.id === 'f');
  t.equal(status?.state, 'degraded');
  t.match(captured.messages().join('\n'), /health check failed; data stays queued until it can be delivered: permission denied/);
});

t.test('a plugin that throws in create stops the start with a message naming the component', async (t) => {
  const config = await loadTestConfig(`[sources.m]\ntype = "manual"\n[sinks.bad]\ntype = "test_bad_create"\ninputs = ["m"]\n`, { dataDir: tempDir(t), extra: [manualSource, throwsInCreate] });
  await t.rejects(Runtime.start(config, { logger: createLogger({ level: 'silent' }) }), {
    code: 'TC_PLUGIN_CREATE',
    message: 'sinks.bad (type "test_bad_create") failed to start: missing certificate file /etc/x.pem',
  });
});

t.test('small emits are merged into one delivery up to batch.max_events within batch.timeout_secs', async (t) => {
  await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\nbatch = { max_events = 50, timeout_secs = 0.5 }\n`, { extra: [manualSource] });
  for (let i = 0; i < 20; i++) await manualSources.get('m')!.emit(logs(i * 5, 5));
  await eventually(() => received('rec').length === 100);
  const writes = recorded.get('rec')!.writes;
  t.equal(writes.length, 2, 'two deliveries of 50');
  t.ok(writes.every((w) => w.delivery.last > w.delivery.first), 'each covers several queued batches');
});

t.test('a memory buffer is drained on a graceful stop', async (t) => {
  const { runtime } = await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 20\nbatch = { max_events = 5 }\nbuffer = { type = "memory", max_bytes = 10000000 }\n`, {
    extra: [manualSource],
  });
  for (let i = 0; i < 10; i++) await manualSources.get('m')!.emit(logs(i * 5, 5));
  await runtime.stop();
  t.equal(received('rec').length, 50, 'everything queued in memory was delivered before stop returned');
});

t.test('log lines never contain secret values', async (t) => {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const logger = createLogger({ level: 'info', secrets: ['p@ss"word'], destination: sink });
  logger.info({ url: 'postgres://u:p@ss"word@db/x' }, 'connecting with p@ss"word');
  await new Promise((r) => setTimeout(r, 50));
  t.notMatch(out, /p@ss/);
  t.match(out, /postgres:\/\/u:\*\*\*@db\/x/);
});
