import t from 'tap';
import type { TelemetryEvent } from '../events.js';
import { encodeBatch } from './batch.js';
import { BatchCursor, BatchField, BatchLabels } from './cursor.js';
import { sample } from './testdata/sample.js';

const span = sample.find((e) => e.kind === 'span') as TelemetryEvent;

const events: TelemetryEvent[] = [
  { kind: 'log', time_us: 1, service: 'api', host: 'h', level: 'info', trace_id: '', span_id: '', message: 'héllo ✓', labels: { k: 'v', seq: '1' } },
  { kind: 'log', time_us: 2, service: 'api', host: 'h', level: 'info', trace_id: '', span_id: '', message: 'second', labels: { k: 'v', seq: '1' } },
  span,
  { kind: 'metric', type: 'histogram', name: 'h', labels: {}, time_us: 3, histogram: { count: 3, sum: 1.5, buckets: { '1': 2, '+Inf': 3 } } },
  { kind: 'log', time_us: 4, service: 'api', host: 'h', level: 'info', trace_id: '', span_id: '', message: 'after', labels: { k: 'v', seq: '1' } },
  { kind: 'event', time_us: 5, type: 'deploy', service: 'api', severity: 'info', payload: { v: 1 }, id: 'e1' },
];

t.test('the cursor yields each event in place: strings as byte ranges, repeats keep their range', async (t) => {
  const c = new BatchCursor(Buffer.from(encodeBatch(events)));
  t.equal(c.count, events.length);
  t.ok(c.next());
  t.equal(c.kind, 'log');
  t.equal(c.time_us, 1);
  t.equal(c.text(BatchField.logMessage), 'héllo ✓');
  t.equal(c.ends[BatchField.logMessage]! - c.starts[BatchField.logMessage]!, Buffer.byteLength('héllo ✓'), 'a range of UTF-8 bytes');
  const service = c.starts[BatchField.logService];
  const labels = c.labels(BatchLabels.log);
  const gen = labels.gen;
  t.same(
    Array.from({ length: labels.size }, (_, i) => [c.keyText(labels.keys[i]!), c.valueText(labels, i)]),
    [
      ['k', 'v'],
      ['seq', '1'],
    ],
  );
  t.ok(c.next());
  t.equal(c.starts[BatchField.logService], service, 'a repeated string keeps its range');
  t.equal(c.labels(BatchLabels.log).gen, gen, 'a repeated label set keeps its generation');
  t.equal(c.text(BatchField.logMessage), 'second');

  t.ok(c.next());
  t.equal(c.kind, 'span');
  t.equal(c.statusCode, 'ERROR');
  t.equal(c.spanEventCount, 2);
  c.nextSpanEvent();
  t.equal(c.spanEventTime, 15);
  t.equal(c.text(BatchField.spanEventName), 'exception');
  // The second span event is skipped by next().
  t.ok(c.next());
  t.equal(c.kind, 'metric');
  t.equal(c.metricType, 'histogram');
  t.same(
    Array.from({ length: c.bucketCount }, (_, i) => [c.keyText(c.bucketKeys[i]!), c.bucketValues[i]]),
    [
      ['1', 2],
      ['+Inf', 3],
    ],
  );
  t.ok(c.next());
  t.equal(c.text(BatchField.logMessage), 'after', 'the log slots survive events of other kinds');
  t.equal(c.labels(BatchLabels.log).gen, gen);
  t.ok(c.next());
  t.equal(c.kind, 'event');
  t.ok(c.hasId);
  t.equal(c.text(BatchField.eventPayload), '{"v":1}', 'the payload as its queued JSON text');
  t.equal(c.text(BatchField.eventId), 'e1');
  t.notOk(c.next());
  t.ok(c.atEnd);
  t.throws(() => c.nextSpanEvent(), RangeError);
});

t.test('a truncated batch throws a RangeError', async (t) => {
  const buf = Buffer.from(encodeBatch(events));
  const c = new BatchCursor(buf.subarray(0, buf.length - 20));
  t.throws(() => {
    while (c.next());
  }, RangeError);
});
