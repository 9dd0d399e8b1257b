/**
 * The pure parts: time ticks per column type, statement text, chunking, classification, config
 * checks. What ClickHouse makes of the output is in the tests against the engine.
 */
import t from 'tap';
import plugin from './index.js';
import { classify, failedRow } from './classify.js';
import { RowsBuilder, metricRow, rowRange, withoutSources } from './encode.js';
import { insertStatement, quote } from './insert.js';
import { chunks } from './isolate.js';
import { type TableSchema, timeEncoder } from './schema.js';
import { rolesOf } from './tables.js';

t.test('time ticks follow the column type', async (t) => {
  const us = 1_700_000_000_123_456;
  t.equal(timeEncoder("DateTime64(3, 'UTC')")(us), '1700000000123', 'milliseconds, cut');
  t.equal(timeEncoder("DateTime64(6, 'UTC')")(us), '1700000000123456');
  t.equal(timeEncoder('DateTime64(9)')(us), '1700000000123456000', 'nanoseconds past 2^53, exact');
  t.equal(timeEncoder("DateTime('UTC')")(us), '1700000000', 'seconds');
  t.equal(timeEncoder("Nullable(DateTime64(3, 'UTC'))")(us), '1700000000123', 'through Nullable');
  t.equal(timeEncoder('Int64')(us), '1700000000123456', 'other types get microseconds');
  t.equal(timeEncoder("DateTime64(3, 'UTC')")(-1500), '-2', 'before 1970: floor, not toward zero');
  t.equal(timeEncoder("DateTime64(3, 'UTC')")(Number.NaN), 'NaN', 'a NaN is passed on for ClickHouse to reject');
});

t.test('metric values ClickHouse reads but JSON cannot write', async (t) => {
  const schema = { time: timeEncoder("DateTime64(3, 'UTC')") } as TableSchema;
  const row = (value: number) => JSON.parse(metricRow({ kind: 'metric', type: 'gauge', name: 'g', labels: {}, time_us: 1000, value }, schema)) as unknown[];
  t.same(row(0.5), [1, 0.5, 0, 0, 'g', 'gauge', {}, {}], 'numbers first, in the order of COLUMNS.metric');
  t.equal(row(Number.NaN)[1], 'nan');
  t.equal(row(Number.POSITIVE_INFINITY)[1], 'inf');
  t.equal(row(Number.NEGATIVE_INFINITY)[1], '-inf');
});

t.test('insert statements', async (t) => {
  t.equal(quote("it's a \\ test"), "'it\\'s a \\\\ test'", 'string literals escape quotes and backslashes');
  t.equal(
    insertStatement('db', 'logs', ['a', 'b'], "sink'x:1:logs", { compression: 'none', insertMode: 'sync' }),
    "INSERT INTO db.logs (a, b) SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'sink\\'x:1:logs' FORMAT JSONCompactEachRow",
  );
});

t.test('rows, ranges and chunks', async (t) => {
  const b = new RowsBuilder();
  for (const [line, source] of [
    ['[1]\n', 0],
    ['[2]\n', 1],
    ['[22]\n', 1],
    ['[3]\n', 2],
  ] as const)
    b.add(line, source);
  const rows = b.build();
  t.equal(rowRange(rows, 1, 3), '[2]\n[22]\n');
  t.same(withoutSources(rows, new Set([1])).body, '[1]\n[3]\n', 'dropping every row of an event');
  t.same(chunks(rows, 1000), [[0, 4]], 'one chunk when it fits');
  t.same(
    chunks(rows, 8),
    [
      [0, 2],
      [2, 3],
      [3, 4],
    ],
    'cut where the next row would pass the limit',
  );
  t.same(
    chunks(rows, 9),
    [
      [0, 2],
      [2, 4],
    ],
    'a row that reaches the limit exactly still fits',
  );
  t.same(
    chunks(rows, 2),
    [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ],
    'a row longer than the limit stands alone',
  );
});

t.test('classification', async (t) => {
  const ch = (code: number, message = 'm') => Object.assign(new Error(message), { code: String(code), type: 'T' });
  t.equal(classify(ch(27)).kind, 'rows');
  t.equal(classify(ch(72)).kind, 'rows');
  t.equal(classify(ch(164)).kind, 'not_writable');
  t.equal(classify(ch(60)).kind, 'schema');
  t.equal(classify(ch(252)).kind, 'transient');
  t.equal(classify(ch(12345)).kind, 'unknown');
  t.equal(classify(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind, 'transient', 'a Node network error');
  t.equal(classify(new Error('Timeout error.')).kind, 'transient', 'no code at all');
  t.equal(failedRow(classify(ch(27, 'Cannot parse input: (at row 70001)\n: While executing'))), 70001);
  t.equal(failedRow(classify(ch(53, 'Type mismatch'))), undefined);
});

t.test('roles of a delivery', async (t) => {
  t.same([...rolesOf([{ kind: 'log' }, { kind: 'span' }])].sort(), ['log', 'span', 'span_event']);
  t.same([...rolesOf([{ kind: 'metric' }])], ['metric']);
});

t.test('config checks without I/O', async (t) => {
  const issues = (options: Record<string, unknown>) => plugin.validate?.(plugin.config.parse(options)) ?? [];
  t.same(issues({ url: 'chdb://clickhouse' }), []);
  t.same(issues({ url: 'http://u:p@ch:8123/telemetry' }), []);
  t.match(issues({ url: 'postgres://x' }), [{ path: ['url'], message: /unsupported scheme postgres:/ }]);
  t.match(issues({ url: 'chdb://x?database=bad-name' }), [{ path: ['url'], message: /invalid database name/ }]);
  t.match(issues({ url: 'chdb://x', tables: { metric: 'logs_events' } }), [
    { path: ['tables', 'metric'], message: /"logs_events" already receives log events/ },
  ]);
  t.notOk(plugin.config.safeParse({ url: 'chdb://x', tables: { log: 'db.logs' } }).success, 'a table name is a plain identifier');
  t.notOk(plugin.config.safeParse({ url: 'chdb://x', tables: { trace: 't' } }).success, 'unknown keys are errors');
});
