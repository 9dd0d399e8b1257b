import t from 'tap';
import type { LogEvent, TelemetryEvent } from '../events.js';
import { decodeBatch, verifyBatch } from './batch.js';
import { BatchWriter } from './batch-writer.js';

const log = (message: string, labels: Record<string, string>, over: Partial<LogEvent> = {}): LogEvent => ({
  kind: 'log',
  time_us: 7,
  service: 'svc',
  host: 'h',
  level: 'info',
  trace_id: '',
  span_id: '',
  message,
  labels,
  ...over,
});

/** `log(...)` written by parts, its strings given as bytes where `bytes` says so. */
function writeParts(w: BatchWriter, e: LogEvent, bytes: boolean): void {
  const b = (s: string) => Buffer.from(`<${s}>`);
  w.startLog(e.time_us);
  for (const s of [e.service, e.host, e.level, e.trace_id, e.span_id, e.message]) {
    if (bytes) w.bytes(b(s), 1, 1 + Buffer.byteLength(s), Buffer.byteLength(s) === s.length);
    else w.string(s);
  }
  const keys = Object.keys(e.labels);
  w.labels(keys.length);
  for (const k of keys) {
    const v = e.labels[k] as string;
    if (bytes) w.labelBytes(k, b(v), 1, 1 + Buffer.byteLength(v), false);
    else w.label(k, v);
  }
}

t.test('logs by parts and whole events in any order decode to the events', async (t) => {
  const metric: TelemetryEvent = { kind: 'metric', type: 'gauge', name: 'up', labels: { job: 'a' }, time_us: 1, value: 1 };
  const events: LogEvent[] = [
    log('one', { a: 'x', b: 'y' }),
    log('one', { a: 'x', b: 'y' }),
    log('two', { a: 'x', b: 'z' }),
    log('two', { a: 'x', b: 'z' }),
    log('ünï ✓', { a: 'x', c: 'ünï' }, { service: 'other' }),
    log('one', {}),
    log('one', { a: 'x', b: 'y' }),
  ];
  // Every way of writing each event: whole, by parts as strings, by parts as bytes; patterns
  // chosen so that each follows each, and repeats cross from one way to another.
  const ways = ['whole', 'string', 'bytes'] as const;
  for (let pattern = 0; pattern < 27; pattern++) {
    const w = new BatchWriter();
    const expected: TelemetryEvent[] = [];
    events.forEach((e, i) => {
      const way = ways[Math.floor(pattern / 3 ** (i % 3)) % 3] as (typeof ways)[number];
      if (way === 'whole') w.add(e);
      else writeParts(w, e, way === 'bytes');
      expected.push(e);
      if (i === 3) {
        w.add(metric);
        expected.push(metric);
      }
    });
    t.equal(w.count, expected.length);
    const batch = w.finish();
    t.equal(verifyBatch(batch), expected.length, `pattern ${pattern}: count`);
    const got = decodeBatch(batch);
    t.strictSame(got, expected, `pattern ${pattern}`);
    t.equal(JSON.stringify(got), JSON.stringify(expected), `pattern ${pattern}: label order`);
  }
});

t.test('upper-case hex is folded when asked', async (t) => {
  const w = new BatchWriter();
  const id = Buffer.from('00AbCdEf0000000F');
  for (let i = 0; i < 2; i++) {
    w.startLog(1);
    for (let f = 0; f < 4; f++) w.string('');
    w.bytes(id, 0, id.length, true, true);
    w.string('m');
    w.labels(0);
  }
  const got = decodeBatch(w.finish()) as LogEvent[];
  t.equal(got[0]?.span_id, '00abcdef0000000f');
  t.equal(got[1]?.span_id, '00abcdef0000000f', 'and its repeat compares folded');
});

t.test('each batch is a buffer of its own, and the next starts afresh', async (t) => {
  const w = new BatchWriter();
  w.add(log('a', { k: 'v' }));
  const first = w.finish();
  const copy = Buffer.from(first);
  writeParts(w, log('a', { k: 'v' }), true);
  writeParts(w, log('b', { k: 'v' }), false);
  const second = w.finish();
  t.strictSame(first, copy, 'the first batch is untouched by the second');
  t.strictSame(decodeBatch(second), [log('a', { k: 'v' }), log('b', { k: 'v' })], 'no repeat refers to the batch before');
  t.equal(w.count, 0);
  t.equal(w.size, 0);
  t.strictSame(decodeBatch(w.finish()), [], 'an empty batch');
});

t.test('calls out of order throw', async (t) => {
  const w = new BatchWriter();
  t.throws(() => w.string('x'), /outside the string fields/);
  t.throws(() => w.labels(0), /before the six string fields/);
  t.throws(() => w.label('k', 'v'), /more labels/);
  w.startLog(1);
  t.throws(() => w.add(log('a', {})), /inside a log/);
  t.throws(() => w.startLog(1), /inside a log/);
  t.throws(() => w.finish(), /inside a log/);
  for (let f = 0; f < 6; f++) w.string('');
  t.throws(() => w.string(''), /outside the string fields/);
  w.labels(1);
  w.label('k', 'v');
  t.throws(() => w.label('k2', 'v'), /more labels/);
  t.strictSame(decodeBatch(w.finish()), [log('', { k: 'v' }, { time_us: 1, service: '', host: '', level: '' })]);
});
