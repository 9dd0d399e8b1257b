import { isAscii } from 'node:buffer';
import t from 'tap';
import { BatchWriter, decodeBatch, type LogEvent } from '../../../../index.js';
import { fileFieldsConfig, type FileConfig } from '../config.js';
import { EventBuilder } from './event-builder.js';

/**
 * `encodeBytes` must write what decodes to the very event `build` makes of the line (label order
 * included), whatever else the batch holds around it: the file source commits its JSON lines that
 * way (docs/ARCHITECTURE.md#batches-taken-as-they-arrived).
 */

type Builder = Pick<FileConfig, 'format' | 'fields' | 'service' | 'path_label'>;

const DEFAULT_FIELDS = fileFieldsConfig.parse({});
const LISTED_FIELDS = fileFieldsConfig.parse({
  timestamp: ['ts', 'timestamp', 'time'],
  message: ['msg', 'message'],
  level: ['lvl', 'level'],
  service: ['svc', 'service'],
  trace_id: ['trace', 'trace_id'],
  span_id: ['span', 'span_id'],
  timestamp_format: 'auto',
});

const CONFIGS: Array<{ name: string; config: Builder }> = [
  { name: 'defaults', config: { format: 'json', fields: DEFAULT_FIELDS, service: 'svc', path_label: 'file' } },
  { name: 'lists of names', config: { format: 'json', fields: LISTED_FIELDS, service: '', path_label: 'file' } },
  { name: 'no path label', config: { format: 'json', fields: DEFAULT_FIELDS, service: 'svc', path_label: '' } },
  { name: 'path label named as a field', config: { format: 'json', fields: DEFAULT_FIELDS, service: 'svc', path_label: 'level' } },
  { name: 'path label named as a label', config: { format: 'json', fields: LISTED_FIELDS, service: 'svc', path_label: 'user' } },
  { name: 'unix_ms timestamps', config: { format: 'json', fields: { ...DEFAULT_FIELDS, timestamp_format: 'unix_ms' }, service: 'svc', path_label: 'file' } },
];

const FIXED = [
  '{"timestamp":"2025-01-01T00:00:00.001Z","level":"info","service":"checkout","trace_id":"0000000000000000000000000000002a","message":"GET /api 200","user":"u1"}',
  '{"timestamp":"2025-01-01T00:00:00.002Z","level":"info","service":"checkout","trace_id":"0000000000000000000000000000002b","message":"GET /api 200","user":"u2"}',
  '{"timestamp":"2025-01-01T00:00:00.003Z","level":"warn","service":"checkoup","trace_id":"0000000000000000000000000000002C","message":"GET /api 500","user":"u2"}',
  ' { "a" : "b" , "level" : "INFO" }\t',
  '{}',
  '{"n0":0,"n1":-0,"n2":12,"n3":1.50,"n4":1e3,"n5":-1.5E-2,"n6":12345678901234567890,"n7":123456789012345,"n8":9007199254740993,"n9":-7}',
  '{"t":true,"f":false,"z":null,"ts":1735689600123,"level":30}',
  '{"message":"héllo ✓ 日本","k":"ü","span_id":"00000000000000AB"}',
  '{"msg":"x","message":"y","time":"yesterday","span_id":12,"trace_id":"xyz"}',
  '{"a b":1,"":"empty key","file":"overridden","user":"kept in place"}',
  '{"service":7,"message":false,"level":null}',
  '{"message":"a long message that is copied natively rather than by the loop, well beyond sixty-four bytes"}',
  '{"a":"b\\"c"}', // declined: written as a whole event
  '{"user":"u2","file":"f","trace":"0000000000000000000000000000002A","trace_id":"00000000000000000000000000000001"}',
];

/** A random flat record line over a small pool of keys, so that fields, displacements and repeats meet. */
function randomLine(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const keys = ['timestamp', 'ts', 'time', 'level', 'lvl', 'message', 'msg', 'service', 'svc', 'trace_id', 'trace', 'span_id', 'span', 'user', 'file', 'region', 'n', 'ok'];
  const values = [
    () => JSON.stringify(pick(['info', 'INFO', 'Warning', 'error', ' debug ', 'crit'])),
    () => JSON.stringify(pick(['checkout', 'cart', 'é-service', 'x'])),
    () => JSON.stringify(`GET /api/${Math.floor(rand() * 5)} ${pick(['200', '500'])}`),
    () => JSON.stringify(pick(['2025-01-01T00:00:00.001Z', '2025-01-01T00:00:01Z', 'not a time', '1735689600'])),
    () => JSON.stringify(Math.floor(rand() * 4).toString(16).padStart(32, pick(['0', 'A', 'f']))),
    () => JSON.stringify(Math.floor(rand() * 4).toString(16).padStart(16, pick(['0', 'B']))),
    () => pick(['0', '-0', '12', '1.5', '2e3', '1735689600123', '-3', '30', '5']),
    () => pick(['true', 'false', 'null']),
    () => JSON.stringify(pick(['ünïcode ✓', '日本', 'same', 'same'])),
  ];
  const n = Math.floor(rand() * 7);
  const used = new Set<string>();
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = pick(keys);
    if (used.has(k)) continue;
    used.add(k);
    parts.push(`${JSON.stringify(k)}${pick(['', ' '])}:${pick(['', ' '])}${pick(values)()}`);
  }
  // Some lines the bytes path declines, so that whole events and lines from bytes alternate.
  if (rand() < 0.15) parts.push(pick(['"nested":{"a":1}', '"esc":"a\\"b"']));
  return `{${parts.join(pick([',', ', ']))}}`;
}

/** A seeded generator, so that a failure is found again. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

for (const { name, config } of CONFIGS) {
  t.test(`lines written from their bytes decode to the events built from them: ${name}`, async (t) => {
    const rand = mulberry32(42);
    const lines = [...FIXED, ...Array.from({ length: 600 }, () => randomLine(rand)), ...FIXED];
    const reference = new EventBuilder(config, 'h');
    const subject = new EventBuilder(config, 'h');
    t.ok(subject.encodesBytes);
    const w = new BatchWriter();
    const expected: LogEvent[] = [];
    let fromBytes = 0;
    for (const [i, line] of lines.entries()) {
      const path = i % 50 < 25 ? '/var/log/a.log' : '/var/log/b.log';
      expected.push(reference.build(line, path, 5));
      // Other bytes around the line: the reader must stay within it.
      const buf = Buffer.from(`x{${line}\n{"z":1}`);
      const end = 2 + Buffer.byteLength(line);
      if (subject.encodeBytes(buf, 2, end, isAscii(buf.subarray(2, end)), path, 5, w)) fromBytes++;
      else w.add(subject.build(line, path, 5));
      if (i % 97 === 96) {
        // A batch ends, and the repeat state with it.
        const batch = decodeBatch(w.finish());
        const from = expected.length - batch.length;
        t.strictSame(batch, expected.slice(from), `batch ending at line ${i}`);
        t.equal(JSON.stringify(batch), JSON.stringify(expected.slice(from)), `batch ending at line ${i}: labels in the same order`);
      }
    }
    const rest = decodeBatch(w.finish());
    t.strictSame(rest, expected.slice(expected.length - rest.length));
    t.ok(fromBytes > lines.length / 2 && fromBytes < lines.length - 50, `${fromBytes} of ${lines.length} lines were written from their bytes`);
    t.strictSame(subject.counts, reference.counts, 'the same parse errors and unreadable timestamps are counted');
  });
}

t.test('a path label an object would reorder or drop turns the bytes path off', async (t) => {
  for (const path_label of ['1', '0x', '__proto__']) {
    t.notOk(new EventBuilder({ format: 'json', fields: DEFAULT_FIELDS, service: '', path_label }, 'h').encodesBytes, path_label);
  }
  t.ok(new EventBuilder({ format: 'json', fields: DEFAULT_FIELDS, service: '', path_label: 'x1' }, 'h').encodesBytes);
});

t.test('a line the bytes path declines writes nothing', async (t) => {
  const b = new EventBuilder({ format: 'json', fields: DEFAULT_FIELDS, service: '', path_label: 'file' }, 'h');
  const w = new BatchWriter();
  const line = Buffer.from('{"a":{"nested":1}}');
  t.notOk(b.encodeBytes(line, 0, line.length, true, '/l', 1, w));
  t.equal(w.count, 0);
  t.equal(w.size, 0);
});

t.test('a repeated key is declined whatever the line before held', async (t) => {
  const b = new EventBuilder({ format: 'json', fields: DEFAULT_FIELDS, service: '', path_label: 'file' }, 'h');
  const w = new BatchWriter();
  const sequence: Array<[string, boolean]> = [
    ['{"a":1,"b":2}', true],
    ['{"b":1,"b":2}', false],
    ['{"a":1,"b":2}', true],
    ['{"a":1,"a":2}', false],
    ['{"a":1,"b":2,"a":3}', false],
    ['{"a":1,"b":2}', true],
    ['{"a":{"x":1},"b":2}', false],
    ['{"a":1,"a":2}', false],
  ];
  for (const [line, read] of sequence) {
    const buf = Buffer.from(line);
    t.equal(b.encodeBytes(buf, 0, buf.length, true, '/l', 1, w), read, line);
  }
});
