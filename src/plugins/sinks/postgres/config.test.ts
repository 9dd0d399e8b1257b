import t from 'tap';
import { DEFAULT_MIGRATION_PARAMS } from '../../../storage/index.js';
import { loadTestConfig, tempDir } from '../../../testing/index.js';
import { postgresSinkConfig } from './config.js';
import plugin from './index.js';
import { resolveSinkParams } from './params.js';

/** Options: defaults, units, and problems reported at the sink's own key paths, all at once. */

t.test('defaults', async (t) => {
  const config = postgresSinkConfig.parse({});
  t.equal(config.url, 'embedded');
  t.equal(config.migrate, true);
  t.equal(config.ledger_retention, 7 * 86_400_000, 'durations parse to milliseconds');
  t.equal(config.maintenance_interval, 3_600_000);
  t.equal(config.statement_timeout, 60_000);
  const params = resolveSinkParams(config);
  t.same(params, DEFAULT_MIGRATION_PARAMS, "the retention defaults are the storage layer's");
  t.same(plugin.validate?.(config), []);
});

t.test('options map onto the migration parameters', async (t) => {
  const config = postgresSinkConfig.parse({ retention: { points_days: 14, events_days: 60 }, rollup: { start_offset_minutes: 30 }, series_foreign_key: false });
  const params = resolveSinkParams(config);
  t.equal(params.pg_points_retention_days, 14);
  t.equal(params.pg_events_retention_days, 60);
  t.equal(params.pg_cagg_start_offset_minutes, 30);
  t.equal(params.series_foreign_key, false);
});

t.test('unknown keys are errors, at every level', async (t) => {
  t.notOk(postgresSinkConfig.safeParse({ urll: 'x' }).success);
  t.notOk(postgresSinkConfig.safeParse({ retention: { point_days: 3 } }).success);
  t.notOk(postgresSinkConfig.safeParse({ ledger_retention: 'a week' }).success);
});

t.test("problems are reported together, at the sink's key paths", async (t) => {
  const config = postgresSinkConfig.parse({
    url: 'mysql://db/x',
    retention: { points_days: 5, points_compress_after_days: 7 },
    rollup: { start_offset_minutes: 3, end_offset_minutes: 2 },
    maintenance_interval: '0s',
  });
  const issues = plugin.validate?.(config) ?? [];
  const at = (path: string) => issues.find((i) => i.path.join('.') === path)?.message;
  t.match(at('url'), /unsupported scheme mysql:/);
  t.match(at('retention.points_compress_after_days'), /must be less than retention\.points_days/);
  t.match(at('rollup.start_offset_minutes'), /must exceed rollup\.end_offset_minutes by at least 2/);
  t.match(at('maintenance_interval'), /at least 1s/);
  t.equal(issues.length, 4);
});

t.test('thermocline validate names the full key path', async (t) => {
  const err = await loadTestConfig(
    `
[sources.gen]
type = "generator"
[sinks.pg]
type = "postgres"
inputs = ["gen"]
retention = { points_days = 5, points_compress_after_days = 7 }
`,
    { dataDir: tempDir(t) },
  ).catch((e: unknown) => e);
  t.match(String(err), /sinks\.pg\.retention\.points_compress_after_days: must be less than retention\.points_days/);
});
