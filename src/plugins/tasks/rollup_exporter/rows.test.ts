/**
 * The row rewriter on PostgreSQL COPY text as the server prints it (the lines here were taken from
 * `COPY (SELECT …) TO STDOUT` of PostgreSQL 18; the end-to-end tests run the real thing).
 */
import t from 'tap';
import { canonicalLabelsJson } from '../../../index.js';
import { LabelsCache, RowRewriter, canonicalLabelsFromJsonb, escapeTsv, unescapeCopyText } from './rows.js';

const VERSION = 1_700_000_000_000_001;

function rewrite(input: string, pieces: number[] = []): string {
  const rw = new RowRewriter(VERSION, new LabelsCache());
  const bytes = Buffer.from(input, 'utf8');
  const out: Buffer[] = [];
  let at = 0;
  for (const size of [...pieces, bytes.length]) {
    out.push(rw.push(bytes.subarray(at, Math.min(bytes.length, at + size))));
    at = Math.min(bytes.length, at + size);
  }
  rw.finish();
  return Buffer.concat(out).toString('utf8');
}

t.test('labels become canonical JSON, the version is appended, the rest passes through', async (t) => {
  const input = '1795206720\tnode_cpu_seconds_total\t{"cpu": "1", "job": "node", "mode": "idle", "instance": "10.0.1.1:9100"}\t0.1\t1e-310\tNaN\n';
  t.equal(
    rewrite(input),
    `1795206720\tnode_cpu_seconds_total\t{"cpu":"1","instance":"10.0.1.1:9100","job":"node","mode":"idle"}\t0.1\t1e-310\tNaN\t${VERSION}\n`,
  );
  t.equal(rewrite('1\tm\t{}\t-Infinity\t-0\t1.7976931348623157e+308\n'), `1\tm\t{}\t-Infinity\t-0\t1.7976931348623157e+308\t${VERSION}\n`, 'no labels');
});

t.test('rows split anywhere across chunks come out the same', async (t) => {
  const rows = Array.from({ length: 50 }, (_, i) => `${1795206720 + 60 * i}\tm${i % 3}\t{"a": "${i % 7}", "bb": "x"}\t${i / 3}\t${i}\t${-i}\n`).join('');
  const whole = rewrite(rows);
  t.equal(whole.split('\n').length, 51);
  for (const size of [1, 2, 7, 64, 333]) {
    t.equal(rewrite(rows, Array.from({ length: Math.ceil(rows.length / size) }, () => size)), whole, `chunks of ${size} bytes`);
  }
});

t.test('escapes: PostgreSQL COPY in, ClickHouse TabSeparated out, JSON escapes kept', async (t) => {
  const labels = { q: 'say "hi"', back: 'a\\b', nl: 'line1\nline2', tab: 'x\ty', uni: 'é€😀', ctl: '\u0001' };
  // What PostgreSQL prints: jsonb text (JSON escapes), then COPY doubles each backslash.
  const jsonb = '{"nl": "line1\\nline2", "q": "say \\"hi\\"", "ctl": "\\u0001", "tab": "x\\ty", "uni": "é€😀", "back": "a\\\\b"}';
  const copyField = jsonb.replaceAll('\\', '\\\\');
  const out = rewrite(`1\tweird\\tname\\\\\t${copyField}\t1\t2\t3\n`);
  const [bucket, name, canon, ...rest] = out.slice(0, -1).split('\t');
  t.equal(bucket, '1');
  t.equal(name, 'weird\\tname\\\\', 'metric_name keeps its COPY escapes, which TabSeparated reads the same');
  t.equal(unescapeCopyText(canon ?? ''), canonicalLabelsJson(labels), 'the labels field unescapes to canonicalLabelsJson()');
  t.same(rest, ['1', '2', '3', String(VERSION)]);
});

t.test('integer-like keys sort as text, not in JavaScript object order', async (t) => {
  t.equal(canonicalLabelsFromJsonb('{"2": "b", "10": "a", "x": "c"}'), '{"10":"a","2":"b","x":"c"}');
});

t.test('malformed input is an error, never a silently shifted row', async (t) => {
  t.throws(() => rewrite('1\tm\n'), /unexpected row from the export query/);
  t.throws(() => rewrite('1\tm\t{}\n'), /unexpected row from the export query/);
  const rw = new RowRewriter(VERSION, new LabelsCache());
  t.equal(rw.push(Buffer.from('1\tm\t{}\t1\t2')).length, 0, 'an incomplete row waits for the rest');
  t.throws(() => rw.finish(), /ended in the middle of a row/);
  t.throws(() => rewrite('1\tm\tnot json\t1\t2\t3\n'), /metrics_1m.labels is not JSON/);
  t.throws(() => rewrite('1\tm\t["a"]\t1\t2\t3\n'), /not a JSON object/);
});

t.test('the labels cache tells apart label sets whose hashes collide', async (t) => {
  const cache = new LabelsCache();
  const a = Buffer.from('{"a": "1"}');
  const b = Buffer.from('{"b": "2"}');
  t.equal(cache.get(a, 0, a.length, 42).toString(), '{"a":"1"}');
  t.equal(cache.get(b, 0, b.length, 42).toString(), '{"b":"2"}', 'same hash, other bytes: converted on its own');
  t.equal(cache.get(a, 0, a.length, 42).toString(), '{"a":"1"}');
  const small = new LabelsCache(1);
  small.get(a, 0, a.length, 1);
  t.equal(small.get(b, 0, b.length, 2).toString(), '{"b":"2"}', 'a full cache starts over');
});

t.test('TabSeparated escaping round-trips through COPY unescaping', async (t) => {
  const s = 'a\\b\tc\nd\re\bf\fg\vh';
  t.equal(unescapeCopyText(escapeTsv(s)), s);
  t.equal(escapeTsv('\0'), '\\0');
});
