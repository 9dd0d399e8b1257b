/**
 * RowBinary to a server (write-encoded.ts), checked by a real parser: the bodies the stand-in server
 * (testdata/fake-server.ts) receives from the real client are read back by the embedded engine
 * (`file(…, 'RowBinary', …)`) and compared with the JSON path's bodies for the same events, read
 * the same way. Then what only RowBinary does: values refused before sending, chunked bodies, and
 * isolation of a row ClickHouse rejects, under the same tokens.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { TelemetryEvent } from '../../../index.js';
import { formatOf, rowsOf, tableOf, tokenOf } from './testdata/bodies.js';
import { type RecordedInsert, FakeClickHouse, SEED_COLUMNS } from './testdata/fake-server.js';
import { BASE_US, batches, createTable, log, meta, openSink, span, target } from './testdata/harness.js';
import { COLUMNS, type TableRole } from './tables.js';
import { cuts, kindsOf, rowBinaryChunks } from './write-encoded.js';

const TABLES = { metric: 'metrics_raw', event: 'events_raw' };
const ROLE_OF: Record<string, TableRole> = { logs_events: 'log', spans: 'span', span_events: 'span_event', metrics_raw: 'metric', events_raw: 'event' };

async function fake(t: Test): Promise<{ server: FakeClickHouse; url: string }> {
  const server = new FakeClickHouse();
  const url = await server.listen();
  t.teardown(() => server.close());
  return { server, url };
}

const bigLabels = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`label_${i}`, `value ${i} ${'x'.repeat(i % 40)}`]));

function metric(i: number, value: number, type: 'gauge' | 'counter' | 'summary' = 'gauge'): TelemetryEvent {
  return { kind: 'metric', type, name: `m_${i % 2}`, labels: { host: 'h1', i: String(i) }, time_us: BASE_US + i, value };
}

function sample(): TelemetryEvent[][] {
  const first: TelemetryEvent[] = [
    log(0),
    log(1, { message: 'héllo wörld ✓ 🚀 日本語 "quoted" \\ back\tslash\nnew line \u0001', labels: { ключ: 'значение', emoji: '🚀', '': 'empty key' } }),
    log(2, { service: '', host: '', level: '', message: '', labels: {} }),
    log(3, { labels: bigLabels, trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) }),
    span(0, {
      events: [
        { time_us: BASE_US + 5, name: 'retry', attr: { n: '1' } },
        { time_us: BASE_US + 6, name: 'ok ✓', attr: {} },
      ],
    }),
    metric(0, 0.25),
    metric(1, NaN),
    metric(2, Infinity, 'counter'),
    metric(3, -Infinity, 'summary'),
    metric(4, 1e300, 'counter'),
  ];
  const second: TelemetryEvent[] = [
    log(4, { labels: bigLabels }),
    span(1),
    span(2, { status_code: 'ERROR', status_message: 'boom ✗', parent_span_id: 'ab'.repeat(8), events: [{ time_us: BASE_US + 7, name: 'exception', attr: bigLabels }] }),
    { kind: 'metric', type: 'histogram', name: 'latency', labels: { route: '/' }, time_us: BASE_US + 9, histogram: { count: 3, sum: 1.5, buckets: { '0.1': 1, '1': 2, '+Inf': 3 } } },
    { kind: 'metric', type: 'histogram', name: 'latency', labels: {}, time_us: BASE_US + 10, histogram: { count: 0, sum: NaN, buckets: {} } },
    { kind: 'event', time_us: BASE_US + 11, type: 'deploy', service: 'api', severity: 'info', payload: { version: '1.2', ü: [1, 2.5, { a: null }], '2': true } },
    { kind: 'event', time_us: BASE_US + 12, type: 'incident', service: '', severity: 'error', payload: {}, id: 'evt-1' },
    log(5, { time_us: -86_400_000_000 * 365 }),
  ];
  return [first, second];
}

t.test('RowBinary bodies hold the rows the JSON path sends, as the engine reads them', async (t) => {
  const parts = sample();
  const binary = await fake(t);
  const json = await fake(t);
  const a = openSink(t, binary.url, { migrate: false, tables: TABLES });
  const b = openSink(t, json.url, { migrate: false, tables: TABLES, insert_format: 'json' });
  t.same(await a.sink.writeEncoded?.(batches(...parts), meta(9)), undefined, 'nothing rejected');
  await b.sink.write(parts.flat(), meta(9));
  t.same(binary.server.inserts.map(tableOf), ['logs_events', 'spans', 'span_events', 'metrics_raw', 'events_raw'], 'one insert per table, in order');
  t.same(binary.server.inserts.map(tableOf), json.server.inserts.map(tableOf));
  for (const [i, insert] of binary.server.inserts.entries()) {
    const other = json.server.inserts[i] as RecordedInsert;
    t.equal(formatOf(insert), 'RowBinary');
    t.equal(formatOf(other), 'JSONCompactEachRow');
    t.equal(tokenOf(insert), tokenOf(other), `${tableOf(insert)}: the same token as the JSON path`);
    t.equal(insert.query.replace(/FORMAT \w+$/, ''), other.query.replace(/FORMAT \w+$/, ''), 'the same statement otherwise');
    t.equal(insert.contentEncoding, 'gzip', 'gzip-compressed');
    const rows = await rowsOf(t, insert);
    t.ok(rows.length > 0);
    t.same(rows, await rowsOf(t, other), `${tableOf(insert)}: the same ${rows.length} rows`);
  }
  const logs = await rowsOf(t, binary.server.inserts[0] as RecordedInsert);
  t.equal(logs[1]?.[6], parts[0]?.[1]?.kind === 'log' ? parts[0][1].message : '', 'unicode and control characters survive');
  t.equal(logs.at(-1)?.[0], '1969-01-01 00:00:00.000', 'a time before 1970 in DateTime64 is stored');
});

t.test('compression = "none": the raw RowBinary body', async (t) => {
  const { server, url } = await fake(t);
  const { sink } = openSink(t, url, { migrate: false, compression: 'none' });
  await sink.writeEncoded?.(batches([log(0), log(1)]), meta(3));
  const [insert] = server.inserts;
  t.equal(insert?.contentEncoding, undefined);
  t.equal(insert?.wireBytes, insert?.raw.length);
  t.same((await rowsOf(t, insert as RecordedInsert)).map((r) => r[6]), ['request 0', 'request 1']);
});

t.test('values ClickHouse cannot store are refused with a reason, the rest written under the same token', async (t) => {
  const { server, url } = await fake(t);
  const { sink } = openSink(t, url, { migrate: false, tables: TABLES });
  const events: TelemetryEvent[] = [
    log(0),
    log(1, { time_us: NaN }),
    span(2, { duration_ns: -5, events: [{ time_us: BASE_US, name: 'e', attr: {} }] }),
    span(3, { events: [{ time_us: BASE_US, name: 'kept', attr: {} }] }),
    { kind: 'metric', type: 'histogram', name: 'h', labels: {}, time_us: BASE_US, histogram: { count: 2.5, sum: 1, buckets: {} } },
    { kind: 'metric', type: 'histogram', name: 'h', labels: {}, time_us: BASE_US, histogram: { count: 2, sum: 1, buckets: { '1': -1 } } },
    log(6, { time_us: Date.UTC(2500, 0, 1) * 1000 }),
    log(7),
  ];
  const result = await sink.writeEncoded?.(batches(events.slice(0, 3), events.slice(3)), meta(5));
  const rejected = result?.rejected ?? [];
  t.same(
    rejected.map((r) => r.index),
    [1, 2, 4, 5, 6],
  );
  t.match(rejected[0]?.reason, /cannot be stored in logs_events: timestamp is NaN/);
  t.match(rejected[1]?.reason, /spans: duration_ns is -5, outside UInt64/);
  t.match(rejected[2]?.reason, /histogram count is 2\.5, not an integer/);
  t.match(rejected[3]?.reason, /histogram bucket count is -1, outside UInt64/);
  t.match(rejected[4]?.reason, /outside DateTime64's range/);
  t.same(server.inserts.map(tokenOf), ['ch@test:5:logs_events', 'ch@test:5:spans', 'ch@test:5:span_events', 'ch@test:5:metrics_raw']);
  t.same((await rowsOf(t, server.inserts[0] as RecordedInsert)).map((r) => r[6]), ['request 0', 'request 7']);
  t.same((await rowsOf(t, server.inserts[2] as RecordedInsert)).map((r) => r[3]), ['kept'], "a refused span's events are not written");
  t.same(await rowsOf(t, server.inserts[3] as RecordedInsert), [], 'metrics_raw: every row refused, an empty insert');
});

t.test('the engine itself rejects the same rows on the JSON path', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  await createTable(tg.ch, 'metrics_raw');
  const { sink } = openSink(t, tg.url, { tables: { metric: 'metrics_raw' } });
  const events: TelemetryEvent[] = [
    log(0),
    log(1, { time_us: NaN }),
    span(2, { duration_ns: -5 }),
    { kind: 'metric', type: 'histogram', name: 'h', labels: {}, time_us: BASE_US, histogram: { count: 2.5, sum: 1, buckets: {} } },
    { kind: 'metric', type: 'histogram', name: 'h', labels: {}, time_us: BASE_US, histogram: { count: 2, sum: 1, buckets: { '1': -1 } } },
  ];
  // write(): the JSON path, where the engine parses and judges every value itself.
  const result = await sink.write(events, meta(1));
  t.same(
    (result?.rejected ?? []).map((r) => r.index),
    [1, 2, 3, 4],
  );
});

t.test('a row the server rejects is isolated on the JSON path, under the tokens of the same rows', async (t) => {
  const { server, url } = await fake(t);
  server.poison = 'POISON';
  const { sink } = openSink(t, url, { migrate: false });
  const events = Array.from({ length: 8 }, (_, i) => log(i, i === 5 ? { message: 'POISON' } : {}));
  const result = await sink.writeEncoded?.(batches(events.slice(0, 3), events.slice(3)), meta(4));
  t.same(
    result?.rejected?.map((r) => r.index),
    [5],
  );
  t.match(result?.rejected?.[0]?.reason, /ClickHouse rejected the row in logs_events \(code 27/);
  t.same(
    server.inserts.map((i) => `${formatOf(i)} ${tokenOf(i)}`).slice(0, 2),
    ['RowBinary ch@test:4:logs_events', 'JSONCompactEachRow ch@test:4:logs_events'],
    'the whole table first as RowBinary, then as JSON under the same token',
  );
  t.ok(
    server.inserts.slice(2).every((i) => /ch@test:4:logs_events:\d+-\d+$/.test(tokenOf(i) ?? '')),
    'the parts under their row ranges',
  );
  const stored = server.accepted.flatMap((i) => i.body.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as string[])[6]));
  t.same(stored.sort(), ['request 0', 'request 1', 'request 2', 'request 3', 'request 4', 'request 6', 'request 7']);

  // A replay retraces the same inserts.
  const before = server.inserts.map(tokenOf);
  server.inserts.length = 0;
  await sink.writeEncoded?.(batches(events.slice(0, 3), events.slice(3)), meta(4));
  t.same(server.inserts.map(tokenOf), before, 'a replay sends the same tokens');
});

t.test('a table with a column type RowBinary is not written for stays on the JSON path', async (t) => {
  const { server, url } = await fake(t);
  server.columns.logs_events = (SEED_COLUMNS.logs_events ?? []).map(([n, ty]) => [n, n === 'level' ? "Enum8('info' = 1, 'warn' = 2)" : ty]);
  const { sink } = openSink(t, url, { migrate: false });
  await sink.writeEncoded?.(batches([log(0)], [span(1)]), meta(2));
  t.same(server.inserts.map(formatOf), ['JSONCompactEachRow', 'RowBinary']);
  t.same(server.inserts.map(tokenOf), ['ch@test:2:logs_events', 'ch@test:2:spans']);
});

t.test('insert_format = "json" takes the JSON path', async (t) => {
  const { server, url } = await fake(t);
  const { sink } = openSink(t, url, { migrate: false, insert_format: 'json' });
  await sink.writeEncoded?.(batches([log(0)]), meta(2));
  t.same(server.inserts.map(formatOf), ['JSONCompactEachRow']);
});

t.test('a body is a stream of bounded chunks, cut at rows', async (t) => {
  const events = Array.from({ length: 20_000 }, (_, i) => log(i, { message: `${i} ${'y'.repeat(300)}` }));
  const schema = { role: 'log' as const, table: 'logs_events', types: new Map(SEED_COLUMNS.logs_events), time: () => '', endTime: () => '' };
  const chunks = [...(rowBinaryChunks(batches(events.slice(0, 7000), events.slice(7000)), 'log', schema) ?? [])];
  t.ok(chunks.length >= 5, `${chunks.length} chunks`);
  t.ok(
    chunks.every((c) => c.length <= 1.25 * 2 ** 20),
    'none above 1.25 MiB',
  );
  const raw = Buffer.concat(chunks);
  const rows = await rowsOf(t, { query: 'INSERT INTO db.logs_events FORMAT RowBinary', contentEncoding: undefined, wireBytes: raw.length, body: '', raw });
  t.equal(rows.length, 20_000, 'every row, whole');
  t.equal(rows[19_999]?.[6], events[19_999]?.message);
});

t.test('the embedded engine reads RowBinary from a spooled file: the JSON path\'s rows, deduplicated on replay', async (t) => {
  const binary = await target(t);
  const json = await target(t);
  if (!binary || !json) return;
  for (const tg of [binary, json]) for (const name of ['metrics_raw', 'events_raw'] as const) await createTable(tg.ch, name);
  const parts = sample();
  const a = openSink(t, binary.url, { tables: TABLES });
  const b = openSink(t, json.url, { tables: TABLES, insert_format: 'json' });
  await a.sink.start?.();
  await b.sink.start?.();
  t.same(await a.sink.writeEncoded?.(batches(...parts), meta(9)), undefined);
  t.same(await b.sink.writeEncoded?.(batches(...parts), meta(9)), undefined);
  const rows = async (tg: NonNullable<Awaited<ReturnType<typeof target>>>, table: string) => {
    const columns = COLUMNS[ROLE_OF[table] as TableRole].map((c) => `toString(${c})`).join(', ');
    const result = await tg.ch.client.query({ query: `SELECT ${columns} FROM ${tg.ch.database}.${table} ORDER BY ${columns}`, format: 'JSONCompactEachRow' });
    return result.json<string[]>();
  };
  for (const table of Object.keys(ROLE_OF)) {
    const stored = await rows(binary, table);
    t.ok(stored.length > 0, `${table}: ${stored.length} rows`);
    t.same(stored, await rows(json, table), `${table}: the rows the JSON path stores`);
  }
  const before = await Promise.all(Object.keys(ROLE_OF).map((table) => rows(binary, table)));
  await a.sink.writeEncoded?.(batches(...parts), meta(9));
  t.same(await Promise.all(Object.keys(ROLE_OF).map((table) => rows(binary, table))), before, 'a replay is dropped by its tokens');
  const spool = (await fs.promises.readdir(path.join(a.dataDir, 'spool'), { recursive: true })).filter((f) => f.endsWith('.rowbinary'));
  t.same(spool, [], 'no body left behind');
});

t.test('a table too large for one insert is cut at rows, the same cuts every time', async (t) => {
  const parts = batches(
    Array.from({ length: 6 }, (_, i) => log(i)),
    Array.from({ length: 4 }, (_, i) => log(6 + i)),
  );
  t.same(cuts(parts, 'log', new Set(), Infinity, 4), [
    [0, 4],
    [4, 8],
    [8, 10],
  ]);
  t.same(cuts(parts, 'log', new Set(), 450), cuts(parts, 'log', new Set(), 450), 'by size too, deterministically');
  t.ok(cuts(parts, 'log', new Set(), 450).length > 1);
  t.same(cuts(parts, 'span', new Set()), [], 'no rows, no insert');
});

t.test("a delivery's passes over its batches are made once per batches array", async (t) => {
  const parts = batches([log(0), span(1), log(2)], [log(3)]);
  const logCuts = cuts(parts, 'log', new Set());
  t.same(logCuts, [[0, 3]]);
  t.equal(cuts(parts, 'log', new Set()), logCuts, 'the cuts of a table are kept for the same array');
  t.not(cuts(parts, 'span', new Set()), logCuts, 'per table');
  t.same(cuts(parts, 'span_event', new Set([1])), [], 'spans to skip are never taken from what was kept');
  const copy = [...parts];
  t.not(cuts(copy, 'log', new Set()), logCuts, 'another array is walked anew');
  t.same(cuts(copy, 'log', new Set()), logCuts, 'to the same cuts');
  t.equal(kindsOf(parts), kindsOf(parts), 'the kinds are kept too');
  t.same([...kindsOf(parts)].sort(), ['log', 'span']);
});
