/**
 * Pins behaviour of the embedded engine that the ClickHouse sink must design around (found while
 * building the storage layer). If chdb changes, these fail and the sink's workaround can be revisited.
 */
import t from 'tap';
import { withClickHouse } from '../helpers/clickhouse.js';

t.test('chdb: clickhouse_settings stick to the shared session', async (t) => {
  const ch = await withClickHouse(t);
  if (ch.mode !== 'embedded') return t.plan(0, 'a server applies settings per request');
  const table = `${ch.database}.dedup`;
  await ch.client.command({ query: `CREATE TABLE ${table} (a UInt32) ENGINE = MergeTree ORDER BY a SETTINGS non_replicated_deduplication_window = 100` });
  const insert = (a: number, settings?: { insert_deduplication_token: string }) =>
    ch.client.insert({ table, values: [{ a }], format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings } : {}) });
  const count = async () => Number((await (await ch.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })).json<{ n: string | number }>())[0]?.n);

  await insert(1, { insert_deduplication_token: 'sink:1' });
  await insert(2);
  t.equal(await count(), 1, 'an insert WITHOUT a token reuses the previous token and is dropped as a duplicate');
  await insert(3, { insert_deduplication_token: '' });
  t.equal(await count(), 2, 'an explicit empty token resets it');
  await insert(3, { insert_deduplication_token: '' });
  t.equal(await count(), 2, 'without a token, an identical block is dropped by its content hash (any ClickHouse)');
});

t.test('chdb: 64-bit integers come back as JSON numbers, a server quotes them', async (t) => {
  const ch = await withClickHouse(t);
  const [row] = await (await ch.client.query({ query: 'SELECT toUInt64(1) AS n', format: 'JSONEachRow' })).json<{ n: unknown }>();
  // Readers must accept both: Number(row.n) / BigInt(row.n).
  t.equal(typeof row?.n, ch.mode === 'embedded' ? 'number' : 'string');
});
