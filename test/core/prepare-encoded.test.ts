import t from 'tap';
import { decodeBatch, defineSink, z, type Delivery, type EncodedBatch } from '../../src/index.js';
import type { LogEvent } from '../../src/core/events.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline } from '../helpers/pipeline.js';

/*
 * A sink with `prepareEncoded` is handed the next delivery while the one before it is written
 * (docs/delivery.md#the-next-delivery): the same batches and an equal delivery as its write later.
 */

const seqOf = (e: unknown) => Number((e as LogEvent).labels.seq);
const keyOf = (d: Delivery) => `${d.stream}:${d.first}:${d.last}`;
const bytesOf = (batches: readonly EncodedBatch[]) => Buffer.concat(batches.map((b) => b.data)).toString('base64');

interface Prepared {
  key: string;
  bytes: string;
  /** The delivery whose write began last before this one was handed over. */
  after: string | undefined;
  /** Whether that write was still in flight. */
  inFlight: boolean;
}
const prepared: Prepared[] = [];
const written: Array<{ key: string; bytes: string; events: number[] }> = [];
let started: string | undefined;
let inFlight = false;
let gate: Promise<void> = Promise.resolve();
let throwOnPrepare = false;

const preparingSink = defineSink({
  type: 'preparing_recorder',
  summary: 'Test sink: records the deliveries it is asked to prepare and those it writes.',
  config: z.strictObject({}),
  batch: { max_events: 5, timeout_secs: 0.02 },
  create() {
    return {
      async write() {
        throw new Error('write() is not used by a sink that takes batches encoded');
      },
      async writeEncoded(batches, meta) {
        const key = keyOf(meta.delivery);
        started = key;
        inFlight = true;
        await gate;
        written.push({ key, bytes: bytesOf(batches), events: batches.flatMap((b) => decodeBatch(b.data)).map(seqOf) });
        inFlight = false;
      },
      prepareEncoded(batches, delivery) {
        if (throwOnPrepare) throw new Error('scripted failure to prepare');
        prepared.push({ key: keyOf(delivery), bytes: bytesOf(batches), after: started, inFlight });
      },
    };
  },
});

const extra = [manualSource, preparingSink];
const toml = `[sources.m]\ntype = "manual"\n[sinks.prep]\ntype = "preparing_recorder"\ninputs = ["m"]\n`;

t.beforeEach(() => {
  prepared.length = 0;
  written.length = 0;
  started = undefined;
  inFlight = false;
  gate = Promise.resolve();
  throwOnPrepare = false;
});

t.test('the next delivery is handed over during the write before it, as it is written later', async (t) => {
  await startPipeline(t, toml, { extra });
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  const src = manualSources.get('m')!;
  // Five events a delivery: the first write waits at the gate while the other four are queued.
  for (let i = 0; i < 5; i++) await src.emit(logs(i * 5, 5));
  await eventually(() => prepared.length >= 1, 5000, 'the second delivery handed over while the first is written');
  open();
  await eventually(() => written.flatMap((w) => w.events).length === 25, 10_000, 'every event written');
  t.same(
    written.flatMap((w) => w.events),
    Array.from({ length: 25 }, (_, i) => i),
    'every event once, in order',
  );
  t.equal(prepared[0]?.inFlight, true, 'the first was handed over while the write before it was in flight');
  for (const p of prepared) {
    const w = written.find((x) => x.key === p.key);
    t.ok(w, `${p.key} was written after it was handed over`);
    t.equal(w?.bytes, p.bytes, `${p.key} was written with the batches it was handed over with`);
    const before = written.findIndex((x) => x.key === p.after);
    t.ok(before >= 0 && written[before + 1]?.key === p.key, `${p.key} was handed over once the write of the delivery before it (${p.after}) had begun`);
  }
});

t.test('a sink that fails to prepare still gets every delivery written', async (t) => {
  throwOnPrepare = true;
  const { logs: lines } = await startPipeline(t, toml, { extra });
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  const src = manualSources.get('m')!;
  for (let i = 0; i < 4; i++) await src.emit(logs(i * 5, 5));
  await eventually(() => lines.lines.some((l) => /preparing the next delivery failed/.test(String(l.msg))), 5000, 'the failure logged');
  open();
  await eventually(() => written.flatMap((w) => w.events).length === 20, 10_000, 'every event written');
  t.same(
    written.flatMap((w) => w.events),
    Array.from({ length: 20 }, (_, i) => i),
    'every event once, in order',
  );
  t.equal(prepared.length, 0, 'nothing was recorded as prepared');
});
