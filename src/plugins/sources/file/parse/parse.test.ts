import t from 'tap';
import { EventBuilder } from './event-builder.js';
import { normalizeLevel } from './level.js';
import { parseLogfmt } from './logfmt.js';
import { parseRfc3339, parseTimestamp } from './timestamp.js';
import { fileFieldsConfig } from '../config.js';

t.test('RFC 3339 keeps microseconds and honours offsets', async (t) => {
  const base = Date.UTC(2025, 0, 2, 3, 4, 5) * 1000;
  t.equal(parseRfc3339('2025-01-02T03:04:05Z'), base);
  t.equal(parseRfc3339('2025-01-02T03:04:05.123456Z'), base + 123_456);
  t.equal(parseRfc3339('2025-01-02T03:04:05.123456789Z'), base + 123_456, 'nanoseconds are cut to microseconds');
  t.equal(parseRfc3339('2025-01-02T03:04:05.5+02:00'), base + 500_000 - 2 * 3_600_000_000);
  t.equal(parseRfc3339('2025-01-02 03:04:05-0130'), base + 90 * 60_000_000);
  t.equal(parseRfc3339('2025-01-02T03:04:05'), base, 'no zone: UTC');
  t.equal(parseRfc3339('2025-13-02T03:04:05Z'), undefined);
  t.equal(parseRfc3339('yesterday'), undefined);
  t.equal(parseRfc3339('2025-01-02T03:04:05.Z'), undefined, 'a dot needs digits');
  t.equal(parseRfc3339('2025-01-02T03:04:05Zjunk'), undefined);
  t.equal(parseRfc3339('2025-01-02T03:04:05+02'), undefined, 'an offset needs minutes');
  t.equal(parseRfc3339('2025-01-02T03:04:05+02:00x'), undefined);
  t.equal(parseRfc3339('2025-01-02T25:04:05Z'), undefined);
  t.equal(parseRfc3339('2025-01-02t03:04:05z'), base, 'lower-case t and z');
  t.equal(parseRfc3339('2025-01-02T03:05:05Z'), base + 60_000_000, 'the cached minute is not reused for another minute');
  t.equal(parseRfc3339('2024-01-02T03:04:05Z'), Date.UTC(2024, 0, 2, 3, 4, 5) * 1000);
  t.equal(parseRfc3339('2025-01-02T03:04:05Z'), base);
});

t.test('epoch numbers by unit, or guessed from their magnitude', async (t) => {
  const s = 1_735_689_600; // 2025-01-01
  t.equal(parseTimestamp(s, 'auto'), s * 1e6);
  t.equal(parseTimestamp(s + 0.25, 'auto'), s * 1e6 + 250_000);
  t.equal(parseTimestamp(s * 1000, 'auto'), s * 1e6);
  t.equal(parseTimestamp(s * 1e6, 'auto'), s * 1e6);
  t.equal(parseTimestamp(s * 1e9, 'auto'), s * 1e6);
  t.equal(parseTimestamp(String(s * 1000), 'auto'), s * 1e6, 'numeric strings');
  t.equal(parseTimestamp(5, 'unix_ms'), 5000);
  t.equal(parseTimestamp(5, 'unix_ns'), 0);
  t.equal(parseTimestamp('2025-01-01T00:00:00Z', 'unix_s'), undefined, 'an explicit unit rejects strings');
  t.equal(parseTimestamp(s, 'rfc3339'), undefined);
  t.equal(parseTimestamp('2025-01-01T00:00:00Z', 'rfc3339'), s * 1e6);
  t.equal(parseTimestamp(true, 'auto'), undefined);
  t.equal(parseTimestamp(Number.NaN, 'auto'), undefined);
});

t.test('levels in one vocabulary', async (t) => {
  t.equal(normalizeLevel('WARNING'), 'warn');
  t.equal(normalizeLevel(' Info '), 'info');
  t.equal(normalizeLevel('CRITICAL'), 'fatal');
  t.equal(normalizeLevel('custom'), 'custom');
  t.equal(normalizeLevel(30), 'info', 'pino');
  t.equal(normalizeLevel(50), 'error');
  t.equal(normalizeLevel(60), 'fatal');
  t.equal(normalizeLevel(3), 'error', 'syslog severity');
  t.equal(normalizeLevel(7), 'debug');
  t.equal(normalizeLevel(8.5), '8.5');
  t.equal(normalizeLevel(null), '');
  t.equal(normalizeLevel(true), 'true');
  t.equal(normalizeLevel('constructor'), 'constructor', "Object.prototype's members are not aliases");
  t.equal(normalizeLevel('toString'), 'tostring');
  t.equal(normalizeLevel('__proto__'), '__proto__');
  for (let i = 0; i < 3; i++) t.equal(normalizeLevel(' Warning'), 'warn', 'a spelling seen before gives the same level');
  const long = `${'X'.repeat(40)} `;
  t.equal(normalizeLevel(long), 'x'.repeat(40));
  t.equal(normalizeLevel(long), 'x'.repeat(40), 'long values are folded every time');
  for (let i = 0; i < 600; i++) t.equal(normalizeLevel(`L${i}`), `l${i}`, 'past the remembered spellings');
});

t.test('logfmt', async (t) => {
  t.same(parseLogfmt('level=info msg="hello \\"world\\"" took=12ms flag'), { level: 'info', msg: 'hello "world"', took: '12ms', flag: '' });
  t.same(parseLogfmt('a=1  b= c="x\\ny"'), { a: '1', b: '', c: 'x\ny' });
  t.same(parseLogfmt('path="C:\\\\tmp" u="\\q"'), { path: 'C:\\tmp', u: '\\q' });
  t.equal(parseLogfmt('just some words'), undefined, 'no pair at all');
  t.equal(parseLogfmt('a="unterminated'), undefined);
  t.equal(parseLogfmt('=x'), undefined);
  t.equal(parseLogfmt(''), undefined);
});

const fields = fileFieldsConfig.parse({});

t.test('JSON records map to log events', async (t) => {
  const b = new EventBuilder({ format: 'json', fields, service: 'default-svc', path_label: 'file' }, 'h1');
  const line = JSON.stringify({
    ts: '2025-01-01T00:00:00.000001Z',
    level: 'WARNING',
    msg: 'disk low',
    service: 'api',
    trace_id: 'AB'.repeat(16),
    span_id: 'cd'.repeat(8),
    free: 12,
    ok: false,
    nested: { a: [1] },
    none: null,
    file: 'overridden',
  });
  const e = b.build(line, '/var/log/x.log', 1);
  t.same(e, {
    kind: 'log',
    time_us: 1_735_689_600_000_001,
    service: 'api',
    host: 'h1',
    level: 'warn',
    trace_id: 'ab'.repeat(16),
    span_id: 'cd'.repeat(8),
    message: 'disk low',
    labels: { free: '12', ok: 'false', nested: '{"a":[1]}', none: '', file: '/var/log/x.log' },
  });
  t.equal(b.counts.parseErrors, 0);
});

t.test('JSON fallbacks: unparsable lines, missing fields, bad ids and times', async (t) => {
  const b = new EventBuilder({ format: 'json', fields, service: 'svc', path_label: '' }, 'h');
  const bad = b.build('{"level":"info", oops', '/x', 7);
  t.same(bad, { kind: 'log', time_us: 7, service: 'svc', host: 'h', level: '', trace_id: '', span_id: '', message: '{"level":"info", oops', labels: {} });
  t.equal(b.build('[1,2]', '/x', 7).message, '[1,2]', 'not an object: plain');
  t.equal(b.build('42', '/x', 7).message, '42');
  t.equal(b.counts.parseErrors, 3);
  t.equal(b.build(`{"trace_id":"${'0'.repeat(31)}\\u0010"}`, '/x', 1).trace_id, '', 'only hex digits make a trace id');
  const mixed = b.build(`{"trace_id":"${'aF'.repeat(16)}","span_id":"${'0123456789abcdef'}","x":1}`, '/x', 1);
  t.equal(mixed.trace_id, 'af'.repeat(16), 'upper-case digits are folded');
  t.equal(mixed.span_id, '0123456789abcdef', 'a lower-case id is kept as it is');
  t.same(mixed.labels, { x: '1' });
  const upper = b.build(`{"trace_id":"${'G'.repeat(32)}","span_id":"${'ABCDEF0123456789'}"}`, '/x', 1);
  t.equal(upper.span_id, 'abcdef0123456789');
  t.same(upper.labels, { trace_id: 'G'.repeat(32) }, 'a G is no hex digit, whatever its case');
  const e = b.build('{"time":"not a time","trace_id":"xyz","span_id":12,"a":"b"}', '/x', 9);
  t.equal(e.time_us, 9, 'read time when the timestamp is unreadable');
  t.equal(e.message, '{"time":"not a time","trace_id":"xyz","span_id":12,"a":"b"}', 'the whole line when there is no message field');
  t.same(e.labels, { time: 'not a time', trace_id: 'xyz', span_id: '12', a: 'b' }, 'unusable fields stay as labels');
  t.equal(e.trace_id, '');
  t.equal(b.counts.badTimestamps, 1);
});

t.test('configured field names and timestamp unit', async (t) => {
  const custom = fileFieldsConfig.parse({ timestamp: 'when', timestamp_format: 'unix_ms', level: ['sev', 'lvl'], message: 'text', service: 'app' });
  const b = new EventBuilder({ format: 'json', fields: custom, service: '', path_label: 'path' }, 'h');
  const e = b.build('{"when":1000,"lvl":"ERR","text":"boom","app":"billing","level":"ignored"}', '/l', 0);
  t.equal(e.time_us, 1_000_000);
  t.equal(e.level, 'error');
  t.equal(e.message, 'boom');
  t.equal(e.service, 'billing');
  t.same(e.labels, { level: 'ignored', path: '/l' });
});

t.test('logfmt records map the same way', async (t) => {
  const b = new EventBuilder({ format: 'logfmt', fields, service: '', path_label: 'file' }, 'h');
  const e = b.build('time=2025-01-01T00:00:00Z level=error msg="payment failed" order=42', '/l', 0);
  t.equal(e.time_us, 1_735_689_600_000_000);
  t.equal(e.level, 'error');
  t.equal(e.message, 'payment failed');
  t.same(e.labels, { order: '42', file: '/l' });
  const plain = b.build('no pairs here', '/l', 5);
  t.equal(plain.message, 'no pairs here');
  t.equal(b.counts.parseErrors, 1);
});

t.test('plain lines', async (t) => {
  const b = new EventBuilder({ format: 'plain', fields, service: 's', path_label: 'file' }, 'h');
  const e = b.build('{"not":"parsed"}', '/l', 3);
  t.same(e, { kind: 'log', time_us: 3, service: 's', host: 'h', level: '', trace_id: '', span_id: '', message: '{"not":"parsed"}', labels: { file: '/l' } });
});

t.test('JSON lines read from bytes give the events JSON.parse gives', async (t) => {
  const { isAscii } = await import('node:buffer');
  const fast = [
    '{"timestamp":"2025-01-01T00:00:00.001Z","level":"info","service":"checkout","trace_id":"0000000000000000000000000000002a","message":"GET /api 200","user":"u1"}',
    '{"timestamp":"2025-01-01T00:00:00.002Z","level":"info","service":"checkout","trace_id":"0000000000000000000000000000002b","message":"GET /api 200","user":"u2"}',
    '{"timestamp":"2025-01-01T00:00:00.003Z","level":"warn","service":"checkoup","trace_id":"0000000000000000000000000000002C","message":"GET /api 500","user":"u2"}',
    ' { "a" : "b" , "level" : "INFO" }\t',
    '{}',
    '{ }',
    '{"n0":0,"n1":-0,"n2":12,"n3":1.50,"n4":1e3,"n5":-1.5E-2,"n6":12345678901234567890,"n7":123456789012345,"n8":9007199254740993}',
    '{"t":true,"f":false,"z":null,"ts":1735689600123,"level":30}',
    '{"message":"héllo ✓ 日本","k":"ü"}',
    '{"msg":"x","message":"y","time":"yesterday","span_id":12,"trace_id":"xyz"}',
    '{"a b":1,"":"empty key","file":"overridden"}',
    '{"level":"Warning","level2":"x"}',
    '{"service":"a"}',
    '{"service":"b"}',
    '{"service":"bb"}',
  ];
  const declined = [
    '{"a":"b\\"c"}',
    '{"a":"\\u00e9"}',
    '{"a":"tab\there"}',
    '{"a":1,"a":2}',
    '{"b":1,"1":2}',
    '{"__proto__":"x","a":1}',
    '{"a":{"b":1}}',
    '{"a":[1]}',
    '{"a":1}x',
    '{"a":1},',
    '[1]',
    '42',
    '"str"',
    '{"a":"b',
    '{"a":tru}',
    '{"a":0012}',
    '{"a":1.}',
    '{"a":-}',
    '{"a":1e}',
    '{"a" 1}',
    '{"a":1,}',
    '{,}',
    '',
    'plain text',
  ];
  const reference = new EventBuilder({ format: 'json', fields, service: 'svc', path_label: 'file' }, 'h');
  const subject = new EventBuilder({ format: 'json', fields, service: 'svc', path_label: 'file' }, 'h');
  for (const [i, line] of [...fast, ...declined, ...fast].entries()) {
    // Other bytes around the line: the reader must stay within it.
    const buf = Buffer.from(`x{${line}\n{"z":1}`);
    const end = 2 + Buffer.byteLength(line);
    const expected = reference.build(line, '/l', 5);
    const got = subject.fromBytes(buf, 2, end, isAscii(buf.subarray(2, end)), '/l', 5);
    const isFast = !declined.includes(line);
    t.equal(got !== undefined, isFast, `${line}: ${isFast ? 'read from bytes' : 'left to JSON.parse'}`);
    const event = got ?? subject.build(line, '/l', 5);
    t.strictSame(event, expected, `line ${i}: ${line}`);
    t.equal(JSON.stringify(event), JSON.stringify(expected), `line ${i}: labels in the same order`);
  }
  t.strictSame(subject.counts, reference.counts);
});

t.test('a record with more keys than the bytes path reads keeps every one as a label, in order', async (t) => {
  const b = new EventBuilder({ format: 'json', fields, service: 's', path_label: 'file' }, 'h');
  const record = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
  const e = b.build(JSON.stringify({ message: 'm', ...record }), '/l', 1);
  t.equal(e.message, 'm');
  t.strictSame(Object.keys(e.labels), [...Object.keys(record), 'file']);
  t.equal(e.labels.k99, '99');
  const line = Buffer.from(JSON.stringify(record));
  t.equal(b.fromBytes(line, 0, line.length, true, '/l', 1), undefined, 'the bytes path leaves it to JSON.parse');
});
