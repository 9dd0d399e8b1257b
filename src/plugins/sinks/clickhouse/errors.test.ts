/**
 * Failures that must keep the data queued and say what to do: a read-only user, a
 * missing table or column. Real engine errors: READONLY (164) comes from the engine itself, with
 * `readonly = 1` added to the sink's statements (the embedded engine has one user, so a read-only
 * user cannot be created there).
 */
import t from 'tap';
import { RetryableError } from '../../../index.js';
import { count, log, meta, openSink, span, target } from './testdata/harness.js';

t.test('a read-only user: retryable, logged with the hint, nothing lost', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const readonly = openSink(t, tg.url, {}, { settings: { readonly: 1 } });
  await readonly.sink.start?.();
  const events = [log(1), log(2)];
  const err = await readonly.sink.write(events, meta(1)).catch((e: unknown) => e);
  t.type(err, RetryableError, 'retryable: the batch stays queued');
  t.match(err, { code: 'TC_CH_NOT_WRITABLE', message: /ClickHouse refuses to write: INSERT into \w+\.logs_events failed \(code 164 \(READONLY\)\)/ });
  t.match(readonly.logs.text(), /GRANT INSERT ON/, 'the log says what to do');
  t.ok(
    readonly.logs.lines.some((l) => l.level === 50 && l.code === 'TC_CH_NOT_WRITABLE'),
    'logged as an error with its code',
  );
  await t.rejects(
    readonly.sink.healthcheck?.() ?? Promise.resolve(),
    { code: 'TC_CH_NOT_WRITABLE', message: /health check INSERT into \w+\.logs_events failed \(code 164/ },
    'the health check sees it',
  );
  t.equal(await count(tg.ch, 'logs_events'), 0, 'nothing was written');

  // Once the user may write, the same (replayed) delivery goes through.
  const { sink } = openSink(t, tg.url);
  await sink.healthcheck?.();
  t.pass('the health check passes for a user who may write');
  await sink.write(events, meta(1, 2));
  t.equal(await count(tg.ch, 'logs_events'), 2, 'the delivery is written after all');
});

t.test('a missing table: retryable with the migrate hint', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink, logs } = openSink(t, tg.url, { migrate: false });
  await sink.start?.();
  await t.rejects(sink.write([log(1)], meta(1)), { name: 'RetryableError', code: 'TC_CH_SCHEMA_MISMATCH', message: /code 60 \(UNKNOWN_TABLE\)/ });
  t.match(logs.text(), /thermocline migrate/, 'the hint says how to create the tables');
  await t.rejects(sink.healthcheck?.() ?? Promise.resolve(), { code: 'TC_CH_SCHEMA_MISMATCH' }, 'the health check fails');

  // Creating the tables is enough: the next attempt reads the schema again.
  const migrated = openSink(t, tg.url);
  await migrated.sink.start?.();
  t.same(await sink.write([log(1)], meta(1, 2)), undefined);
  t.equal(await count(tg.ch, 'logs_events'), 1);
});

t.test('a custom table without a column the sink fills', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const db = tg.ch.database;
  await tg.ch.client.command({
    query: `CREATE TABLE ${db}.spans_lite (trace_id String, span_id String, start_time DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY trace_id`,
  });
  const { sink } = openSink(t, tg.url, { tables: { span: 'spans_lite' } });
  await t.rejects(sink.write([span(1)], meta(1)), {
    name: 'RetryableError',
    code: 'TC_CH_SCHEMA_MISMATCH',
    message:
      /table \w+\.spans_lite \(for span events\) lacks the columns end_time, duration_ns, parent_span_id, service, name, status_code, status_message, attr/,
  });
  await t.rejects(sink.healthcheck?.() ?? Promise.resolve(), { code: 'TC_CH_SCHEMA_MISMATCH' });
  t.same(await sink.write([log(1)], meta(2)), undefined, 'logs, whose table is fine, still flow');
});

t.test('kinds without a table are rejected with a reason', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink } = openSink(t, tg.url);
  const result = await sink.write(
    [
      log(1),
      { kind: 'metric', type: 'gauge', name: 'up', labels: {}, time_us: 1, value: 1 },
      { kind: 'event', type: 'deploy', service: 's', severity: 'info', time_us: 1, payload: {} },
    ],
    meta(1),
  );
  t.same(result?.rejected, [
    { index: 1, reason: 'the clickhouse sink has no table for "metric" events: set tables.metric (see the sink\'s README), or route them to another sink' },
    { index: 2, reason: 'the clickhouse sink has no table for "event" events: set tables.event (see the sink\'s README), or route them to another sink' },
  ]);
  t.equal(await count(tg.ch, 'logs_events'), 1, 'the log is written');
});
