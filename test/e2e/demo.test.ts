/**
 * `thermocline demo` (`npm run demo`), run in this process through its exported
 * function: the default pipeline on a scratch directory, a burst from the OpenTelemetry SDK and a
 * log file, and a report that shows rows in every table the demo fills, a trace joined with logs
 * from both sources, and the rollup in both stores. Then a second run on the same directory, which
 * must start from an empty one, a pipeline that does not deliver, and the guards around the
 * clearing of the directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DEFAULT_CONFIG, type DemoLimits, runDemo } from '../../src/demo/demo.js';
import { connectClickHouse } from '../../src/storage/index.js';
import { tempDir } from '../helpers/pipeline.js';

// Two demos, each starting embedded PostgreSQL and ClickHouse: generous, for a loaded 2-core machine.
t.setTimeout(900_000);

async function runDemoWith(args: string[], limits: DemoLimits = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDemo(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, limits);
  return { code, out, err };
}
const demo = (args: string[]) => runDemoWith(args);

/** The non-blank lines of the report section under `heading`, up to the next heading (a line without indentation). */
function section(out: string[], heading: string): string[] {
  const start = out.findIndex((l) => l.startsWith(heading));
  if (start < 0) return [];
  const end = out.findIndex((l, i) => i > start && /^\S/.test(l));
  return out.slice(start + 1, end < 0 ? undefined : end).filter((l) => l !== '');
}

/** `{ PostgreSQL: { metric_series: 12, … }, ClickHouse: { … } }` from "What landed where". */
function counts(out: string[]): Record<string, Record<string, number>> {
  const result: Record<string, Record<string, number>> = {};
  let store = '';
  for (const l of section(out, 'What landed where')) {
    const heading = /^ {2}(PostgreSQL|ClickHouse) \(/.exec(l);
    if (heading) store = heading[1] as string;
    const row = /^ {4}(\w+)\s+(\d+)\s/.exec(l);
    if (row && store) (result[store] ??= {})[row[1] as string] = Number(row[2]);
  }
  return result;
}

t.test('the demo runs the default pipeline, sends, and shows what landed in both stores', async (t) => {
  const dir = tempDir(t, 'thermocline-demo-');
  // As root the embedded PostgreSQL runs as "postgres", which must traverse to the data directory.
  fs.chmodSync(dir, 0o711);
  const dataDir = path.join(dir, 'data-demo');
  const run = await demo(['--data-dir', dataDir, '--traces', '10']);
  const all = [...run.out, ...run.err].join('\n');
  t.equal(run.code, 0, 'the demo succeeds', { output: all });
  t.match(run.out[0], /^thermocline demo: running the default pipeline in-process in \S+data-demo \(your `npm start` agent, if any, is not touched\)$/);

  const c = counts(run.out);
  for (const table of ['metric_series', 'metrics_points', 'metrics_histogram', 'metrics_1m'])
    t.ok((c.PostgreSQL?.[table] ?? 0) > 0, `PostgreSQL ${table} has rows`, { found: c.PostgreSQL });
  t.equal(c.PostgreSQL?.events_generic, 3, 'events_generic holds the deploy, the incident and the valid checkout');

  const business = section(run.out, 'Business events');
  t.ok(business.some((l) => /^ {4}deploy\s+info\s+\{"by":"ci","version":"2\.4\.1"\}$/.test(l)), 'the deploy in events_generic', { business });
  t.ok(business.some((l) => /^ {4}checkout\.completed\s+info\s+\{.*"order_id":"o-/.test(l)), 'the checkout in events_generic');
  t.ok(business.some((l) => /^ {2}events_checkout \(created on first use/.test(l)), 'the typed table');
  t.ok(business.some((l) => /^ {4}o-\w+\s+42\.5\s+EUR\s+2\s+1\.0$/.test(l)), 'its row, a column per property, with the schema version');
  t.ok(business.some((l) => /^ {2}refused \(422\), event #3 of the request, type checkout\.completed:$/.test(l)), 'the refused event');
  t.ok(business.some((l) => /^ {4}\/payload\/order_id: /.test(l)), 'its missing field, by pointer');
  t.ok(business.some((l) => /^ {4}\/payload\/currency: must match pattern/.test(l)), 'its malformed field, by pointer');
  for (const table of ['logs_events', 'spans', 'span_events', 'metrics_1m'])
    t.ok((c.ClickHouse?.[table] ?? 0) > 0, `ClickHouse ${table} has rows`, { found: c.ClickHouse });
  const sent = /traces: (\d+) spans with (\d+) span events/.exec(all);
  t.equal(c.ClickHouse?.spans, Number(sent?.[1]), 'every span sent is in ClickHouse, once');
  t.equal(c.ClickHouse?.span_events, Number(sent?.[2]), 'every span event too');

  const trace = section(run.out, 'A trace and its logs');
  const traceId = /trace ([0-9a-f]{32}):/.exec(trace.join('\n'))?.[1];
  t.ok(traceId, 'the trace is named by its id');
  t.ok(
    trace.some((l) => /^ {2}POST \/checkout\s+server\s+[\d.]+ ms\s+ERROR: payment declined$/.test(l)),
    'the server span, with its error',
    { trace },
  );
  t.ok(
    trace.some((l) => /^ {2}[├└]─ cart\.load\s+internal/.test(l)),
    'a child span',
  );
  t.ok(
    trace.some((l) => /^ {2}[├└]─ payment\.charge\s+client\s+[\d.]+ ms\s+ERROR: card declined$/.test(l)),
    'the failing child span',
  );
  t.ok(
    trace.some((l) => /\d\d:\d\d:\d\d\.\d{3} {2}event {2}exception {2}exception\.type=PaymentDeclined/.test(l)),
    'a span event',
  );
  t.ok(
    trace.some((l) => /\d\d:\d\d:\d\d\.\d{3} {2}log {4}error {2}otlp {2}payment declined for order/.test(l)),
    'a log record from the SDK, joined by trace id',
  );
  t.ok(
    trace.some((l) => /\d\d:\d\d:\d\d\.\d{3} {2}log {4}warn {3}file {2}POST \/checkout 402 in \d+ ms$/.test(l)),
    'a line of the log file, joined by trace id',
  );
  const logFile = fs.readFileSync(path.join(dataDir, 'log', 'checkout.log'), 'utf8');
  t.ok(logFile.includes(`"trace_id":"${traceId}"`), 'the log file carries the trace id the report joined on');

  const rollups = section(run.out, 'The 1-minute rollup');
  const rows = rollups.filter((l) => /^ {2}\d\d:\d\d\s+\S+\s+[\d.]+ \/ [\d.]+ \/ [\d.]+\s+[\d.]+ \/ [\d.]+ \/ [\d.]+\s+same$/.test(l));
  t.ok(rows.length >= 2, 'metrics_1m rows, the same in PostgreSQL and ClickHouse', { rollups });
  t.notOk(
    rollups.some((l) => /missing|DIFFERENT/.test(l)),
    'no row missing or different',
  );
  t.ok(
    section(run.out, 'What to try next').some((l) => l.includes('OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318')),
    'what to try next',
  );

  // The data stays for the user to look at: the stores hold the trace the report showed.
  const ch = await connectClickHouse('chdb://clickhouse', { dataDir });
  const spans = (await (
    await ch.client.query({ query: `SELECT count() AS n FROM ${ch.database}.spans WHERE trace_id = '${traceId}'`, format: 'JSONEachRow' })
  ).json()) as Array<{
    n: number | string;
  }>;
  await ch.release();
  t.equal(Number(spans[0]?.n), 3, 'the trace is in the kept ClickHouse data');

  // Run again on the same directory: it is cleared first, so the tables hold the second burst only.
  const again = await demo(['--data-dir', dataDir, '--traces', '5']);
  t.equal(again.code, 0, 'a second run succeeds', { output: [...again.out, ...again.err].join('\n') });
  const second = /traces: (\d+) spans/.exec(again.out.join('\n'));
  t.equal(counts(again.out).ClickHouse?.spans, Number(second?.[1]), 'only the second run’s spans: the directory was cleared');

  // A pipeline that never delivers spans and logs (the clickhouse sink fed metrics instead): the
  // demo gives up after its timeout and says what is missing. (The same directory once more: the
  // embedded ClickHouse binds one directory per process.)
  const broken = path.join(dir, 'broken.toml');
  const text = fs.readFileSync(DEFAULT_CONFIG, 'utf8');
  t.ok(text.includes('inputs = ["split._unmatched"]'), 'the default config routes logs and spans to ClickHouse as this test expects');
  fs.writeFileSync(broken, text.replace('inputs = ["split._unmatched"]', 'inputs = ["split.metrics"]'));
  const stuck = await runDemoWith(['-c', broken, '--data-dir', dataDir, '--traces', '5'], { landingTimeoutMs: 5000 });
  t.equal(stuck.code, 1, 'exit 1', { output: [...stuck.out, ...stuck.err].join('\n') });
  t.match(stuck.out[0], /^thermocline demo: running \S+broken\.toml in-process in/);
  t.match(stuck.err[0], /^error: not everything landed within 5 s: spans in ClickHouse spans: 0 of \d+; .*SDK log records in ClickHouse logs_events: 0 of \d+/);
  t.ok(stuck.err.length > 1, 'with the components or the agent log lines that explain it', { err: stuck.err });
});

t.test('a directory the demo did not make is left alone', async (t) => {
  const dir = tempDir(t, 'thermocline-demo-');
  fs.writeFileSync(path.join(dir, 'precious.txt'), 'not the demo’s\n');
  const run = await demo(['--data-dir', dir]);
  t.equal(run.code, 1);
  t.match(run.err.join('\n'), /is not empty and was not made by `thermocline demo`.*pass --data-dir with a new directory/);
  t.ok(fs.existsSync(path.join(dir, 'precious.txt')), 'nothing was removed');
});

t.test('usage', async (t) => {
  const help = await demo(['--help']);
  t.equal(help.code, 0);
  t.match(help.out.join('\n'), /^usage: thermocline demo \[-c FILE\] \[--data-dir DIR\] \[--traces N\]/);
  const bad = await demo(['--traces', '0']);
  t.equal(bad.code, 64);
  t.match(bad.err.join('\n'), /--traces 0 is not a whole number from 1 to 10000/);
  const unknown = await demo(['--bogus']);
  t.equal(unknown.code, 64);
  t.match(unknown.err.join('\n'), /Unknown option '--bogus'/);
});
