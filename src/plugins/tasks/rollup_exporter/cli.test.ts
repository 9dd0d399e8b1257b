/**
 * `thermocline export-rollups` (src/cli/export-rollups.ts), run in this process against the test
 * engines: one cycle, a range with --verify, a config's exporter and its state, and usage errors.
 * The command uses the real clock, so points are written minutes in the past.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { QueueStore } from '../../../core/buffer/store.js';
// eslint-disable-next-line thermocline/plugin-boundary -- tests the `export-rollups` command this task backs
import { runExportRollups } from '../../../cli/export-rollups.js';
import { tempDir } from '../../../testing/index.js';
import { MINUTE, assertSameRollups, chBucket, targets, writePoints } from './testdata/harness.js';

const realMinutesAgo = (n: number) => Math.floor(Date.now() / MINUTE) * MINUTE - n * MINUTE;

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runExportRollups(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

t.test('--once with URLs: one cycle (a backfill on the first run), progress, the watermark kept in --data-dir', async (t) => {
  const tg = await targets(t);
  if (!tg.chUrl) return void t.pass('skipped: the testcontainers ClickHouse does not expose its url; run with CH_URL');
  const dataDir = tempDir(t);
  await writePoints(tg.db, [
    { name: 'cron', labels: { job: 'x' }, time: realMinutesAgo(90), value: 1 },
    { name: 'cron', labels: { job: 'x' }, time: realMinutesAgo(3), value: 2 },
  ]);
  const first = await cli(['--once', '--postgres', tg.db.url, '--clickhouse', tg.chUrl, '--data-dir', dataDir]);
  t.equal(first.code, 0, first.err.join('\n'));
  t.match(first.out[0], /^exporting metrics_1m: one cycle of "export_rollups" \(watermark empty: backfilling everything\)/);
  t.ok(
    first.out.some((l) => /^\s*\d+\.\d% {2}\S+ \.\. \S+ {2}\d+ rows \(\d+ in all\)/.test(l)),
    'a progress line per chunk',
  );
  t.ok(
    first.out.some((l) => /^exported 2 rows in 2 buckets \(\d+ inserts?\) from .* rows\/s, 2 rows refreshed from metrics_points first$/.test(l)),
    first.out.join('\n'),
  );
  t.match(first.out.at(-1), /^watermark: \d{4}-/);
  await assertSameRollups(t, tg, realMinutesAgo(100), realMinutesAgo(0));
  const store = QueueStore.open(dataDir);
  t.match(store.allState('export_rollups'), { watermark: String, version: Number });
  store.close();

  const second = await cli(['--once', '--postgres', tg.db.url, '--clickhouse', tg.chUrl, '--data-dir', dataDir]);
  t.equal(second.code, 0);
  t.match(second.out[0], /\(watermark \d{4}-/, 'the second run continues from the stored watermark');
});

t.test('--from/--to repairs a range without moving the watermark; --verify compares both copies', async (t) => {
  const tg = await targets(t);
  if (!tg.chUrl) return void t.pass('skipped: the testcontainers ClickHouse does not expose its url; run with CH_URL');
  const dataDir = tempDir(t);
  const bucket = realMinutesAgo(60);
  await writePoints(tg.db, [{ name: 'fix', labels: {}, time: bucket, value: 1 }]);
  const base = ['--once', '--postgres', tg.db.url, '--clickhouse', tg.chUrl, '--data-dir', dataDir];
  t.equal((await cli(base)).code, 0);
  // A point an hour late: beyond lateness, so the cycles leave it out of both copies.
  await writePoints(tg.db, [{ name: 'fix', labels: {}, time: bucket + 1000, value: 3 }]);
  t.equal((await cli(base)).code, 0);
  t.equal((await chBucket(tg, bucket, 'fix'))[0]?.avg_v, 1);
  const from = new Date(bucket).toISOString();
  const repair = await cli([...base, '--from', from, '--to', String((bucket + MINUTE) / 1000), '--verify']);
  t.equal(repair.code, 0, repair.err.join('\n'));
  t.match(repair.out[0], `exporting metrics_1m from ${from} to ${new Date(bucket + MINUTE).toISOString()} (the watermark is not moved)`);
  t.ok(repair.out.includes('verify: ClickHouse FINAL equals PostgreSQL (1 rows)'), repair.out.join('\n'));
  t.same(await chBucket(tg, bucket, 'fix'), [{ labels: '{}', avg_v: 2, max_v: 3, min_v: 1 }]);

  // A row ClickHouse has wrong (written by something else, with a higher version): --verify says so.
  await tg.ch.client.command({
    query: `INSERT INTO ${tg.ch.database}.metrics_1m SETTINGS insert_deduplication_token = 'tamper' VALUES (toDateTime(${bucket / 1000}, 'UTC'), 'fix', '{}', 9, 9, 9, 18446744073709551615)`,
  });
  const check = await cli([...base, '--from', from, '--to', String((bucket + MINUTE) / 1000), '--verify']);
  t.equal(check.code, 1, 'exit 1 when the copies differ');
  t.ok(
    check.out.some((l) => l.startsWith('verify: 1 of 1 rows differ between PostgreSQL and ClickHouse FINAL')),
    check.out.join('\n'),
  );
});

t.test('-c: the config exporter, the URLs of the sinks it names, and the agent state database', async (t) => {
  const tg = await targets(t);
  if (!tg.chUrl) return void t.pass('skipped: the testcontainers ClickHouse does not expose its url; run with CH_URL');
  const dataDir = tempDir(t);
  const file = path.join(dataDir, 'thermocline.toml');
  fs.writeFileSync(
    file,
    `data_dir = ${JSON.stringify(dataDir)}
[sources.m]
type = "generator"
[sinks.pg]
type = "postgres"
inputs = ["m"]
url = ${JSON.stringify(tg.db.url)}
rollup = { end_offset_minutes = 2, start_offset_minutes = 60 }
[sinks.ch]
type = "clickhouse"
inputs = ["m"]
url = ${JSON.stringify(tg.chUrl)}
[tasks.longterm]
type = "rollup_exporter"
postgres = "pg"
clickhouse = "ch"
max_rows_per_cycle = 1
`,
  );
  await writePoints(tg.db, [
    { name: 'conf', labels: { a: '1' }, time: realMinutesAgo(10), value: 1 },
    { name: 'conf', labels: { a: '2' }, time: realMinutesAgo(10), value: 2 },
  ]);
  const result = await cli(['--once', '-c', file]);
  t.equal(result.code, 0, result.err.join('\n'));
  t.match(result.out[0], /one cycle of "longterm"/);
  t.ok(
    result.out.some((l) => /^exported 2 rows in 1 buckets \(1 inserts\)/.test(l)),
    'max_rows_per_cycle from the config; a bucket is never split',
  );
  const store = QueueStore.open(dataDir);
  const watermark = store.getState('longterm', 'watermark');
  store.close();
  // (or a minute later, if the clock turned a minute meanwhile)
  t.ok(
    [realMinutesAgo(2), realMinutesAgo(3)].map((m) => new Date(m).toISOString()).includes(String(watermark)),
    "the postgres sink's end_offset_minutes decides what is closed",
  );

  const unknown = await cli(['--once', '-c', file, '--component', 'nope']);
  t.equal(unknown.code, 1);
  t.match(unknown.err[0], /no rollup_exporter component "nope" in .* \(there is "longterm"\)/);
});

t.test('usage errors', async (t) => {
  t.equal((await cli([])).code, 64, 'without --once');
  t.match((await cli([])).err[0], /pass --once/);
  t.equal((await cli(['--once', '--from', '2026-01-01T00:00:00Z'])).code, 64, '--from without --to');
  t.equal((await cli(['--once', '--bogus'])).code, 64, 'an unknown flag');
  const bad = await cli(['--once', '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z', '--postgres', 'embedded', '--clickhouse', 'chdb://x']);
  t.equal(bad.code, 1);
  t.match(bad.err[0], /^error\[TC_CAGG_RANGE_INVALID\]: --from "yesterday" is not a time/);
  const reversed = await cli([
    '--once',
    '--from',
    '2026-01-02T00:00:00Z',
    '--to',
    '2026-01-01T00:00:00Z',
    '--postgres',
    'embedded',
    '--clickhouse',
    'chdb://x',
  ]);
  t.match(reversed.err[0], /is not before --to/);
  const nothing = await cli(['--once', '--data-dir', tempDir(t)]);
  t.equal(nothing.code, 1);
  t.match(nothing.err[0], /pass --postgres URL and --clickhouse URL/);
});
