import t from 'tap';
import { RetryableError } from '../../../index.js';
import { StorageError } from '../../../storage/index.js';
import { classify, copyLineOf, toSinkError } from './classify.js';
import { CopyBuffer, fitsInt64 } from './copy-buffer.js';
import { seriesKey } from './series.js';

/** The pure parts: series keys, error classification, the binary COPY writer. */

t.test('series keys are canonical and unambiguous', async (t) => {
  t.equal(seriesKey('m', { b: '2', a: '1' }), seriesKey('m', { a: '1', b: '2' }), 'label order does not matter');
  t.equal(seriesKey('m', { '10': 'x', '2': 'y', a: 'z' }), seriesKey('m', { a: 'z', '2': 'y', '10': 'x' }), 'integer-like keys too');
  const distinct: Array<[string, Record<string, string>]> = [
    ['m', { ab: 'c' }],
    ['m', { a: 'bc' }],
    ['m', { a: 'b', c: '' }],
    ['m', { '': '' }],
    ['m', {}],
    ['m1:a', {}],
    ['m', { '1:a': '' }],
    ['m2', { ':a': '' }],
    ['ma', {}],
    ['m', { a: 'b\u0000c' }],
    ['m', { a: 'b', c: '' }],
    ['m', { 'a\u0000b': 'c' }],
    ['m\u0000a', { b: 'c' }],
    ['m', { a: 'b\u0000c\u0000' }],
    ['\u0001["m",{}]', {}],
    ['m', {}],
  ];
  const unique = new Map(distinct.map(([name, labels]) => [JSON.stringify([name, labels]), [name, labels] as const]));
  const keys = [...unique.values()].map(([name, labels]) => seriesKey(name, labels));
  t.equal(new Set(keys).size, keys.length, `no two of ${keys.length} different series share a key`);
  t.equal(seriesKey('m', { b: 'x\u0000', a: '1' }), seriesKey('m', { a: '1', b: 'x\u0000' }), 'canonical with a NUL too');
});

t.test('failures are classified by SQLSTATE and kind', async (t) => {
  const pgError = (code: string) => Object.assign(new Error(`server said ${code}`), { code });
  t.equal(classify(pgError('22008')), 'data', 'data exception');
  t.equal(classify(pgError('23505')), 'data', 'integrity constraint');
  t.equal(classify(pgError('54000')), 'data', 'program limit (index row too large)');
  for (const code of ['08006', '40001', '40P01', '53100', '53300', '57P01', '57014', '55P03', '58030', '28P01', '3D000'])
    t.equal(classify(pgError(code)), 'retryable', code);
  t.equal(classify(pgError('42501')), 'schema', 'permission denied');
  t.equal(classify(pgError('42P01')), 'schema', 'undefined table');
  t.equal(classify(pgError('XX000')), 'other', 'internal error');
  t.equal(classify(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })), 'retryable');
  t.equal(classify(new Error('Connection terminated unexpectedly')), 'retryable');
  t.equal(classify(new Error('timeout exceeded when trying to connect')), 'retryable');
  t.equal(classify(new TypeError('x is not a function')), 'other', 'our own bugs are not outages');
  t.equal(classify(new StorageError('TC_PG_UNREACHABLE', 'down')), 'retryable');
  t.equal(classify(new StorageError('TC_MIGRATION_FAILED', 'bad file')), 'schema');

  const retry = toSinkError(pgError('57P01'), 'writing');
  t.ok(retry instanceof RetryableError);
  t.match(retry, { code: 'TC_PG_SINK_UNAVAILABLE', message: 'writing: server said 57P01 [SQLSTATE 57P01]' });
  t.match(toSinkError(pgError('42501'), 'writing'), { name: 'RetryableError', code: 'TC_PG_SINK_SCHEMA' });
  t.match(toSinkError(pgError('XX000'), 'writing'), { name: 'ThermoclineError', code: 'TC_PG_SINK_WRITE_FAILED' });
});

t.test('the row a COPY error names', async (t) => {
  t.equal(copyLineOf({ where: 'COPY events_generic, line 2' }), 2);
  t.equal(copyLineOf({ where: 'COPY metrics_points, line 17, column value: "x"' }), 17);
  t.equal(copyLineOf({ where: 'COPY events_generic, Zeile 2' }), undefined, 'translated context: no hint');
  t.equal(copyLineOf(new Error('no context')), undefined);
});

t.test('binary COPY writer', async (t) => {
  const out = new CopyBuffer();
  out.tuple(2);
  out.int64(-1);
  out.int64(2 ** 60);
  const bytes = Buffer.concat(out.finish());
  t.equal(bytes.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0', 'signature');
  t.equal(bytes.readInt32BE(11), 0, 'flags');
  t.equal(bytes.readInt16BE(19), 2, 'field count');
  t.equal(bytes.readBigInt64BE(25), -1n);
  t.equal(bytes.readBigInt64BE(37), 2n ** 60n, 'beyond 2^53 through BigInt');
  t.equal(bytes.readInt16BE(bytes.length - 2), -1, 'trailer');
  t.ok(fitsInt64(-(2 ** 63)));
  t.notOk(fitsInt64(2 ** 63));
  t.notOk(fitsInt64(1.5));

  const big = new CopyBuffer();
  const text = 'é'.repeat(200_000); // 400 KB of UTF-8: more than one chunk
  big.tuple(1);
  big.text(text);
  const chunks = big.finish();
  const all = Buffer.concat(chunks);
  t.equal(all.readInt32BE(21), 400_000, 'length prefix in bytes');
  t.equal(all.subarray(25, 25 + 400_000).toString('utf8'), text);
});
