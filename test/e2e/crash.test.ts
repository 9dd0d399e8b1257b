import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { components, defaultAgent, hex, openStores, promTarget } from './harness.js';
import { LogWriter, OtlpLoad, crash, embeddedPostgresPids, killPid, pinnedDeliveries, prng, settled, type ExportRecord } from './load.js';

/**
 * Crash: the default pipeline (config/thermocline.toml) under continuous load from
 * its three sources — an application appending JSON lines to a log file (renamed away once, as
 * logrotate does), OTLP/protobuf traces and logs from exporters that retry like the OpenTelemetry
 * SDKs, and a prom-client target found through file_sd — is SIGKILLed ten times at random
 * moments and restarted on the same data directory. Afterwards:
 *
 * - every file line is in ClickHouse's logs_events exactly once;
 * - every OTLP span, span event and log record is in ClickHouse; exactly once when its request
 *   got 200 at the first attempt. A request whose attempt failed without an answer (the agent may
 *   have committed it and died before replying) may be stored once more: OTLP has no idempotency
 *   key, so the exporter's retry is a new request. Never more often than such attempts + 1;
 * - no scraped (series, time) is in metrics_points or metrics_histogram twice;
 * - nothing was dead-lettered.
 *
 * The kill moments come from a seeded PRNG: replay a failure with THERMOCLINE_CRASH_SEED=<seed>.
 */

const KILLS = 10;
/** The kill cycle during which the log file is renamed away (rename-and-create rotation). */
const ROTATE_IN = 5;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Scrape every second instead of every 15 s, so that scrapes are in flight when the kills come
 * (the scrape timeout must stay below the interval).
 */
function scrapeEverySecond(toml: string): string {
  const edited = toml.replace(/^interval = "15s"$/m, 'interval = "1s"\ntimeout = "800ms"');
  if (edited === toml) throw new Error('config/thermocline.toml no longer has the prometheus_scrape line `interval = "15s"`');
  return edited;
}

/** The first few entries of a list, for a readable diagnostic. */
const some = <T>(list: T[]) => ({ count: list.length, first: list.slice(0, 20) });

t.test(`${KILLS} SIGKILLs under load from file, OTLP and scrape: every input item is stored exactly once`, async (t) => {
  const seed = Number(process.env.THERMOCLINE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 32));
  t.comment(`seed ${seed} (replay the kill moments with THERMOCLINE_CRASH_SEED=${seed})`);
  const random = prng(seed);

  const agent = await defaultAgent(t, scrapeEverySecond);
  const writer = new LogWriter(agent.logDir, 400);
  const otlp = new OtlpLoad(agent.otlp, 20, 50);
  t.teardown(async () => {
    writer.stop();
    otlp.abandon();
    await agent.kill('SIGKILL');
    embeddedPostgresPids(agent.dataDir).forEach(killPid);
  });
  const prom = await promTarget(t, agent.targetsDir);
  const ticker = setInterval(() => {
    prom.requests.inc({ code: '200' });
    prom.latency.observe(Math.random());
  }, 100);
  t.teardown(() => clearInterval(ticker));

  writer.start();
  otlp.start();
  await agent.start();
  const moments: string[] = [];
  const inFlight: string[] = [];
  let takeovers = 0;
  for (let i = 1; i <= KILLS; i++) {
    const delay = 1500 + random() * 4500;
    if (i === ROTATE_IN) {
      const rotateAt = random() * delay;
      await sleep(rotateAt);
      writer.rotate();
      await sleep(delay - rotateAt);
      moments.push(`${Math.round(delay)} ms (rotated at ${Math.round(rotateAt)} ms)`);
    } else {
      await sleep(delay);
      moments.push(`${Math.round(delay)} ms`);
    }
    // Odd kills take the agent alone (its PostgreSQL is orphaned and taken over at the restart),
    // even ones the whole process group, as systemd and container runtimes do.
    await crash(agent, { withPostgres: i % 2 === 0 });
    inFlight.push(...pinnedDeliveries(agent.dataDir));
    await agent.start();
    if (/left running by an agent that was killed/.test(agent.child?.output() ?? '')) takeovers++;
  }
  t.ok(takeovers >= 1, `the orphaned embedded PostgreSQL was taken over at ${takeovers} restart(s)`);
  t.comment(`killed ${KILLS} times, after ${moments.join(', ')}`);
  const perSink = (id: string) => inFlight.filter((s) => s === id).length;
  t.comment(`deliveries in flight at the kills, replayed by the restarts: pg ${perSink('pg')}, ch ${perSink('ch')}, rollups ${perSink('rollups')}`);
  writer.stop();
  await otlp.stop();
  await settled(agent, ['app_logs', 'otlp']);
  const finalRun = await components(agent.api);
  await agent.kill('SIGTERM');
  const { chRows, pgRows, db } = await openStores(t, agent.dataDir);

  t.test('the file lines: each exactly once', async (t) => {
    const rows = await chRows<{ message: string; n: string }>(
      `SELECT message, toString(count()) AS n FROM ${db}.logs_events WHERE message LIKE 'file line %' GROUP BY message`,
    );
    const found = new Map(rows.map((r) => [Number(r.message.slice('file line '.length)), Number(r.n)]));
    const missing = Array.from({ length: writer.written }, (_, i) => i).filter((i) => !found.has(i));
    const repeated = [...found].filter(([, n]) => n > 1);
    const unknown = [...found.keys()].filter((i) => !(i >= 0 && i < writer.written));
    t.comment(`${writer.written} lines written, ${rows.length} distinct lines stored`);
    t.same(some(missing), some([]), 'no line is missing');
    t.same(some(repeated), some([]), 'no line is stored twice');
    t.same(some(unknown), some([]), 'no line that was not written');
  });

  t.test('the OTLP items: all there; twice only after an unanswered attempt', async (t) => {
    const index = (id: string) => parseInt(id, 16) - 1;
    const spans = await chRows<{ id: string; n: string }>(
      `SELECT span_id AS id, toString(count()) AS n FROM ${db}.spans WHERE service = 'shop' GROUP BY span_id`,
    );
    const spanEvents = await chRows<{ id: string; n: string }>(
      `SELECT span_id AS id, toString(count()) AS n FROM ${db}.span_events WHERE name = 'cache miss' GROUP BY span_id`,
    );
    const logs = await chRows<{ message: string; n: string }>(
      `SELECT message, toString(count()) AS n FROM ${db}.logs_events WHERE message LIKE 'otlp log %' GROUP BY message`,
    );
    const stored = {
      spans: new Map(spans.map((r) => [index(r.id), Number(r.n)])),
      'span events': new Map(spanEvents.map((r) => [index(r.id), Number(r.n)])),
      'log records': new Map(logs.map((r) => [Number(r.message.slice('otlp log '.length)), Number(r.n)])),
    };
    const requests = (signal: ExportRecord['signal']) => otlp.records.filter((r) => r.signal === signal);
    const retried = otlp.records.filter((r) => r.ambiguous > 0);
    t.comment(
      `${otlp.records.length} requests (${requests('traces').length} traces, ${requests('logs').length} logs); ` +
        `${otlp.records.filter((r) => r.attempts > 1).length} retried, ${retried.length} after an attempt without an answer`,
    );
    for (const [what, signal] of [
      ['spans', 'traces'],
      ['span events', 'traces'],
      ['log records', 'logs'],
    ] as const) {
      const found = stored[what];
      const missing: number[] = [];
      const unexpected: Array<{ item: number; stored: number; attempts: number; unanswered: number }> = [];
      let duplicates = 0;
      const expected = new Set<number>();
      for (const r of requests(signal)) {
        for (let i = r.first; i < r.first + r.count; i++) {
          expected.add(i);
          const n = found.get(i) ?? 0;
          if (n === 0) missing.push(i);
          else if (n > 1 + r.ambiguous) unexpected.push({ item: i, stored: n, attempts: r.attempts, unanswered: r.ambiguous });
          else if (n > 1) duplicates += n - 1;
        }
      }
      t.comment(`${what}: ${expected.size} sent, ${found.size} distinct stored, ${duplicates} retry duplicates`);
      t.same(some(missing), some([]), `no ${what} missing`);
      t.same(some(unexpected), some([]), `${what} are stored once, or once more per attempt that got no answer`);
      t.same(some([...found.keys()].filter((i) => !expected.has(i)).map((i) => hex(i + 1, 16))), some([]), `no ${what} that were not sent`);
    }
  });

  t.test('the scraped series: no (series, time) twice', async (t) => {
    for (const table of ['metrics_points', 'metrics_histogram']) {
      const twice = await pgRows<{ series_id: string; time: string; n: number }>(
        `SELECT series_id::text, time::text, count(*)::int AS n FROM ${table} GROUP BY series_id, time HAVING count(*) > 1 ORDER BY series_id, time`,
      );
      t.same(some(twice), some([]), `no (series_id, time) twice in ${table}`);
    }
    const [scraped] = await pgRows<{ points: number; scrapes: number }>(
      `SELECT count(*)::int AS points, count(DISTINCT p.time)::int AS scrapes FROM metrics_points p JOIN metric_series s USING (series_id) WHERE s.metric_name = 'e2e_requests_total'`,
    );
    t.comment(`the prom-client target was scraped ${scraped?.scrapes ?? 0} times`);
    t.ok((scraped?.points ?? 0) > 0, 'the prom-client target was scraped into metrics_points');
  });

  t.test('nothing was dead-lettered', async (t) => {
    const queue = new Database(path.join(agent.dataDir, 'queue.db'), { readonly: true });
    t.teardown(() => queue.close());
    const letters = queue.prepare(`SELECT component, seq, error, events FROM dead_letter ORDER BY id`).all();
    t.same(some(letters), some([]), 'the dead_letter table of the queue database is empty');
    const dropped = finalRun.filter((c) => Object.keys((c as { dropped_events?: object }).dropped_events ?? {}).length > 0);
    t.same(dropped, [], 'no component of the last run dropped events');
  });
});
