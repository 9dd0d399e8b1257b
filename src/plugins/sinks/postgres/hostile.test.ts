import t from 'tap';
import { withPostgres } from '../../../testing/index.js';
import { TextCleaner } from './clean.js';
import { event, meta, openSink, point } from './testdata/harness.js';

/**
 * Every byte a label or payload can hold round-trips. What PostgreSQL cannot store (NUL,
 * unpaired surrogates) becomes U+FFFD and is counted; everything else comes back byte for byte.
 */

const HOSTILE: Record<string, string> = {
  tab: 'a\tb',
  newline: 'line1\nline2',
  cr: 'a\r\nb\r',
  backslash: 'C:\\path\\to\\file\\',
  backslash_n: '\\n is not a newline',
  copy_null: '\\N',
  copy_null2: '\\\\N',
  escaped_nul_text: '\\u0000 stays text',
  escaped_nul_text2: '\\\\u0000',
  quotes: `"double" 'single' \`back\``,
  json_like: '{"a": [1, 2]}',
  empty: '',
  spaces: '  padded  ',
  unicode: 'Grüße, 日本語, العربية, עברית',
  emoji: '🦀🚀 👩‍👩‍👧‍👦 🏳️‍🌈',
  combining: 'e\u0301 vs é',
  zero_width: 'a\u200bb\u200dc\ufeff',
  bmp_edges: '\u0001\u001f\u007f\u0080\u00ff\uffff\ufffe',
  astral_edge: '\u{10ffff}\u{1f600}',
  delimiters: ',;|\u0085\u2028\u2029',
  long: 'x'.repeat(1500),
};

/** The stored form of a value: NUL and unpaired surrogates become U+FFFD, nothing else changes. */
const STORED: Record<string, [input: string, stored: string]> = {
  nul: ['a\u0000b\u0000', 'a\ufffdb\ufffd'],
  lone_high: ['x\ud800y', 'x\ufffdy'],
  lone_low: ['\udc00z', '\ufffdz'],
  reversed_pair: ['\ude00\ud83d', '\ufffd\ufffd'],
};

t.test('hostile label values and metric names round-trip byte for byte', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url });
  const labels = { ...HOSTILE, ...Object.fromEntries(Object.entries(STORED).map(([k, [input]]) => [k, input])) };
  const expected = { ...HOSTILE, ...Object.fromEntries(Object.entries(STORED).map(([k, [, stored]]) => [k, stored])) };
  const names = ['plain_name', 'name\twith\ttabs', 'name\nwith\\newline\\N', '名前🦀', 'nul\u0000name'];
  t.equal(
    await sink.write(
      names.map((n, i) => point(n, labels, i)),
      meta(),
    ),
    undefined,
  );

  const { rows } = await db.pool.query<{ metric_name: string; name_hex: string; labels: Record<string, string>; hex: Record<string, string> }>(
    `SELECT s.metric_name, encode(convert_to(s.metric_name, 'UTF8'), 'hex') AS name_hex, s.labels,
            (SELECT jsonb_object_agg(key, encode(convert_to(value, 'UTF8'), 'hex')) FROM jsonb_each_text(s.labels)) AS hex
       FROM metrics_points p JOIN metric_series s USING (series_id) ORDER BY p.value`,
  );
  t.equal(rows.length, names.length);
  rows.forEach((row, i) => {
    const name = (names[i] as string).replace('\u0000', '\ufffd');
    t.equal(row.metric_name, name, `metric name ${JSON.stringify(names[i])}`);
    t.equal(row.name_hex, Buffer.from(name, 'utf8').toString('hex'), 'metric name bytes');
    t.same(row.labels, expected, 'labels as JSON');
  });
  const hex = rows[0]?.hex ?? {};
  for (const [k, v] of Object.entries(expected)) t.equal(hex[k], Buffer.from(v, 'utf8').toString('hex'), `label ${k}: bytes`);
  // NUL twice and three unpaired surrogates (and the name's NUL) in each of the 5 series.
  t.equal(await counter('characters_replaced_total'), 5 * 6 + 1, 'replacements are counted');
});

t.test('hostile event fields and payload keys round-trip', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const payload = {
    ...HOSTILE,
    [HOSTILE.newline as string]: HOSTILE.tab,
    nested: { [HOSTILE.emoji as string]: [HOSTILE.copy_null, HOSTILE.backslash] },
    nul: 'a\u0000b',
    ['k\u0000']: 1,
  };
  const stored = { ...payload, nul: 'a\ufffdb', ['k\u0000']: undefined, ['k\ufffd']: 1 };
  delete (stored as Record<string, unknown>)['k\u0000'];
  t.equal(
    await sink.write([event(HOSTILE.newline as string, payload, undefined, HOSTILE.backslash as string, `${HOSTILE.copy_null}\u0000`)], meta()),
    undefined,
  );
  const { rows } = await db.pool.query<{ type: string; service: string; severity: string; payload: unknown; type_hex: string }>(
    `SELECT type, service, severity, payload, encode(convert_to(type, 'UTF8'), 'hex') AS type_hex FROM events_generic`,
  );
  t.same(rows[0], {
    type: HOSTILE.newline,
    service: HOSTILE.backslash,
    severity: '\\N\ufffd',
    payload: stored,
    type_hex: Buffer.from(HOSTILE.newline as string).toString('hex'),
  });
});

t.test('the cleaner replaces only real escapes in JSON text', async (t) => {
  const c = new TextCleaner();
  const cases: Array<[unknown, unknown]> = [
    [{ a: 'x\u0000' }, { a: 'x\ufffd' }],
    [{ a: '\\u0000' }, { a: '\\u0000' }],
    [{ a: '\\\u0000' }, { a: '\\\ufffd' }],
    [{ a: '\\\\u0000' }, { a: '\\\\u0000' }],
    [{ ['\ud800']: '\udfff' }, { ['\ufffd']: '\ufffd' }],
    [{ a: '😀' }, { a: '😀' }],
    [{ a: '\\ud800' }, { a: '\\ud800' }],
  ];
  for (const [input, expected] of cases) t.same(JSON.parse(c.json(JSON.stringify(input))), expected, JSON.stringify(input));
  t.equal(c.take(), 4);
  t.equal(c.text('ok'), 'ok');
  t.equal(c.text('\u0000\ud83d\ude00\ud83d'), '\ufffd😀\ufffd');
  t.equal(c.take(), 2);
});
