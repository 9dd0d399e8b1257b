/**
 * Upgrading the agent while a delivery is pinned in its queue: the new version replays it, and
 * ClickHouse must drop the replay as a duplicate of what the old version inserted. That holds
 * because the tokens are unchanged (src/core/delivery.ts): here the "old version" is an insert made
 * with the literal token string earlier versions built by hand, `<sink>@<instance>:<seq>:<table>`.
 */
import t from 'tap';
import { BASE_US, count, log, meta, openSink, select, target } from './testdata/harness.js';

t.test('a delivery inserted before the upgrade is dropped when the new version replays it', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink } = openSink(t, tg.url);
  await sink.start?.();
  const db = tg.ch.database;
  const timestamp = new Date(BASE_US / 1000).toISOString().replace('T', ' ').replace('Z', '');
  await tg.ch.client.insert({
    table: `${db}.logs_events`,
    values: [{ timestamp, service: 'checkout', host: 'web-1', level: 'info', trace_id: '', span_id: '', message: 'inserted by the old version', labels: {} }],
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplication_token: 'ch@test:77:logs_events' },
  });
  t.equal(await count(tg.ch, 'logs_events'), 1);

  t.equal(await sink.write([log(1)], meta(77)), undefined, 'the replay succeeds');
  t.same(await select(tg.ch, `SELECT message FROM ${db}.logs_events`), [{ message: 'inserted by the old version' }], 'and ClickHouse dropped it as a duplicate');

  await sink.write([log(2)], meta(78));
  t.equal(await count(tg.ch, 'logs_events'), 2, 'the next delivery is written');
});
