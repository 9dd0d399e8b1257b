import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { restartablePostgres } from '../../src/plugins/sinks/postgres/testdata/restartable-postgres.js';
import { connectClickHouse, connectPostgres } from '../../src/storage/index.js';
import { repoRoot } from '../helpers/agent-process.js';
import { eventually } from '../helpers/pipeline.js';
import { defaultAgent, drained, otlpBodies, otlpLog, postOtlp, span } from './harness.js';
import { LOAD_METRIC, LineWriter, OtlpClient, committedCheckpoint, component, sleep } from './outage-load.js';

/**
 * Outage: PostgreSQL stops for 60 s under load. The default pipeline, with a small
 * queue in front of the postgres sink so that it fills within seconds. Back-pressure is per
 * destination (docs/delivery.md#when-a-destination-is-down), so only PostgreSQL-bound data waits:
 *
 * - OTLP metrics (→ PostgreSQL) from clients that retry after `Retry-After` as SDKs do: once the
 *   queue is full they get 503 with a `Retry-After`;
 * - OTLP traces and logs, through the same receiver and the same `split` (→ ClickHouse), keep
 *   getting 200 and keep landing in ClickHouse;
 * - a file source whose lines become business events (→ PostgreSQL `events_generic`, through a
 *   test transform: the postgres sink stores no logs) pauses: neither its counters nor its
 *   committed offset move while the queue is full, and it resumes when PostgreSQL is back;
 * - the default `app_logs` source, which shares `split` with PostgreSQL-bound data, and a file
 *   source that feeds only the ClickHouse sink keep flowing.
 *
 * Afterwards every point, line, span and OTLP log record is in its table exactly once and nothing
 * was dead-lettered.
 */

const OUTAGE_MS = 60_000;
const CLIENTS = 3;
/** OTLP trace and log requests sent while the pg queue is full (one item each). */
const OUTAGE_ITEMS = 40;

/** Replace `from` once, failing loudly if the default config no longer has it. */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0) throw new Error(`the default config no longer contains ${JSON.stringify(from)}; update the outage test`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

function editConfig(toml: string): string {
  let out = replaceOnce(toml, 'inputs = ["split.metrics", "split.events", "events"]', 'inputs = ["split.metrics", "split.events", "events", "audit_events"]');
  // A small queue, so that it fills within seconds; short backoff, so that delivery resumes
  // within seconds of the server's return (the default backoff grows to 60 s).
  out = replaceOnce(out, '[sinks.pg]\n', '[sinks.pg]\nbuffer = { max_bytes = "512KiB" }\nretry = { max_backoff_secs = 2 }\nconnect_timeout = "2s"\n');
  out = replaceOnce(out, 'inputs = ["split._unmatched"]', 'inputs = ["split._unmatched", "cold_logs"]');
  return `${out}
[plugins]
load = [${JSON.stringify(path.join(repoRoot, 'test/fixtures/plugins/logs-to-events.ts'))}]

# Lines that become business events in PostgreSQL.
[sources.audit]
type = "file"
include = ["\${THERMOCLINE_LOG_DIR}/audit.jsonl"]
format = "json"

[transforms.audit_events]
type = "logs_to_events"
inputs = ["audit"]
event_type = "outage_audit"

# Lines that go to ClickHouse only, without sharing a transform with PostgreSQL-bound data.
[sources.cold_logs]
type = "file"
include = ["\${THERMOCLINE_LOG_DIR}/cold.jsonl"]
format = "json"
`;
}

/** The committed offset of every file of a file source, by file name. */
function committedOffsets(dataDir: string, source: string): Record<string, number> | undefined {
  const cp = committedCheckpoint(dataDir, source);
  if (cp === undefined) return undefined;
  const files = (JSON.parse(cp) as { files: Record<string, { p: string; o: number }> }).files;
  return Object.fromEntries(Object.values(files).map((f) => [path.basename(f.p), f.o]));
}

t.test('PostgreSQL down for 60 s under load: metrics get 503, PostgreSQL-bound lines wait, ClickHouse-bound data flows, nothing lost', async (t) => {
  const server = await restartablePostgres(t);
  const agent = await defaultAgent(t, editConfig, { PG_URL: server.url });
  const app = new LineWriter(path.join(agent.logDir, 'app.log'), 'app');
  const audit = new LineWriter(path.join(agent.logDir, 'audit.jsonl'), 'audit');
  const cold = new LineWriter(path.join(agent.logDir, 'cold.jsonl'), 'cold');
  for (const w of [app, audit, cold]) fs.writeFileSync(w.file, '');
  await agent.start();

  const t0Us = Date.now() * 1000;
  const clients = Array.from({ length: CLIENTS }, (_, c) => new OtlpClient(agent.otlp, c, t0Us, 50));
  for (const w of [app, audit, cold]) w.start(10, 200);
  for (const c of clients) c.start();
  t.teardown(async () => {
    for (const w of [app, audit, cold]) w.stop();
    for (const c of clients) c.abort();
  });

  // Steady state first: everything flows into both stores.
  await eventually(
    async () => (await component(agent.api, 'audit')).sent_events > 0 && (await component(agent.api, 'pg')).sent_events > 0,
    60_000,
    'audit lines and points delivered to PostgreSQL',
  );

  await server.stop();
  const stoppedAt = Date.now();
  t.comment('PostgreSQL stopped');
  await eventually(async () => (await component(agent.api, 'pg')).queue?.full === true, 45_000, 'the pg queue to fill');
  const fullAt = Date.now();
  t.comment(`the pg queue was full ${((fullAt - stoppedAt) / 1000).toFixed(1)} s after the stop`);
  t.ok((await component(agent.api, 'pg')).queue?.full, '/components shows the pg queue full');

  // OTLP: 503 with a Retry-After once the queue is full.
  await eventually(() => clients.some((c) => c.answers.some((a) => a.at > fullAt && a.status === 503)), 30_000, 'a 503 after the queue filled');
  const refused = clients.flatMap((c) => c.answers.filter((a) => a.status === 503));
  t.ok(refused.length > 0, 'OTLP requests are refused with 503 while the queue is full');
  t.ok(
    refused.every((a) => a.retryAfter !== null && /^[1-9]\d*$/.test(a.retryAfter)),
    'every 503 carries Retry-After as a positive integer of seconds',
  );

  // For 10 s with the pg queue full: the file source feeding PostgreSQL pauses (neither its
  // counter nor its committed offset moves, although its file keeps growing); everything bound
  // for ClickHouse keeps going, including what shares `split` and the OTLP receiver with metrics.
  const before = {
    audit: await component(agent.api, 'audit'),
    cold: await component(agent.api, 'cold_logs'),
    app: await component(agent.api, 'app_logs'),
    ch: await component(agent.api, 'ch'),
    offsets: committedOffsets(agent.dataDir, 'audit'),
    written: audit.written,
  };
  const traceAnswers: number[] = [];
  const logAnswers: number[] = [];
  for (let i = 0; i < OUTAGE_ITEMS; i++) {
    traceAnswers.push((await postOtlp(agent.otlp, 'traces', otlpBodies.traces([span(i)]))).status);
    logAnswers.push((await postOtlp(agent.otlp, 'logs', otlpBodies.logs([otlpLog(i)]))).status);
    await sleep(10_000 / OUTAGE_ITEMS);
  }
  await sleep(2000);
  const after = {
    audit: await component(agent.api, 'audit'),
    cold: await component(agent.api, 'cold_logs'),
    app: await component(agent.api, 'app_logs'),
    ch: await component(agent.api, 'ch'),
    offsets: committedOffsets(agent.dataDir, 'audit'),
    pg: await component(agent.api, 'pg'),
  };
  t.ok(after.pg.queue?.full, 'the pg queue is still full 12 s later');
  t.equal(after.pg.state, 'degraded', 'the pg sink reports the outage');
  t.ok(audit.written > before.written, 'lines were appended to the audit file meanwhile');
  t.equal(after.audit.sent_events, before.audit.sent_events, 'the audit file source emitted nothing while the queue was full');
  t.ok(before.offsets !== undefined, 'the audit source has a committed checkpoint');
  t.same(after.offsets, before.offsets, 'its committed offset did not move');
  t.same(traceAnswers.filter((s) => s !== 200), [], `all ${OUTAGE_ITEMS} OTLP trace requests got 200 while PostgreSQL was down`);
  t.same(logAnswers.filter((s) => s !== 200), [], `and all ${OUTAGE_ITEMS} OTLP log requests`);
  t.ok(after.app.sent_events > before.app.sent_events, 'app_logs (behind split, which also feeds pg) kept reading its ClickHouse-bound lines');
  t.ok(after.cold.sent_events > before.cold.sent_events, 'the file source feeding only ClickHouse kept flowing');
  t.ok(after.ch.sent_events > before.ch.sent_events, 'the ch sink kept writing to ClickHouse during the outage');

  // The rest of the 60 s, then PostgreSQL returns on the same port.
  await sleep(Math.max(0, stoppedAt + OUTAGE_MS - Date.now()));
  await server.start();
  const restartedAt = Date.now();
  t.comment('PostgreSQL started again');
  await eventually(async () => (await component(agent.api, 'audit')).sent_events > after.audit.sent_events, 60_000, 'the audit source to resume');
  t.pass('the audit file source resumed');
  await eventually(() => clients.every((c) => c.answers.some((a) => a.at > restartedAt && a.status === 200)), 60_000, 'every OTLP client accepted again');
  t.pass('OTLP requests are accepted again');

  // A little more load after the recovery, then stop the load: clients finish their last request.
  await sleep(5000);
  for (const w of [app, audit, cold]) w.stop();
  await Promise.all(clients.map((c) => c.stop()));
  await drained(agent);
  t.equal((await component(agent.api, 'pg')).state, 'running', 'the pg sink is running again');
  await agent.kill('SIGTERM');

  const answers = clients.flatMap((c) => c.answers);
  const statuses = new Map<string, number>();
  for (const a of answers) statuses.set(String(a.status), (statuses.get(String(a.status)) ?? 0) + 1);
  t.comment(`OTLP answers: ${JSON.stringify(Object.fromEntries(statuses))}; lines written: app ${app.written}, audit ${audit.written}, cold ${cold.written}`);
  t.same([...statuses.keys()].sort(), ['200', '503'], 'the agent only ever answered 200 or 503 (no 500, no dropped connection)');

  const queue = new Database(path.join(agent.dataDir, 'queue.db'), { readonly: true });
  const deadLetters = queue.prepare('SELECT component, count(*) AS n FROM dead_letter GROUP BY component').all();
  queue.close();
  t.same(deadLetters, [], 'nothing was dead-lettered');

  // PostgreSQL: every accepted point exactly once, every audit line exactly once.
  const pg = await connectPostgres(server.url, { dataDir: agent.dataDir });
  const ch = await connectClickHouse('chdb://clickhouse', { dataDir: agent.dataDir });
  t.teardown(async () => {
    await ch.release();
    await pg.release();
  });
  const points = await pg.pool.query<{ key: string; n: string }>(
    `SELECT s.labels->>'client' || '/' || (s.labels->>'slot') || '/' || (extract(epoch FROM p.time) * 1000000)::bigint AS key, count(*)::text AS n
       FROM metrics_points p JOIN metric_series s USING (series_id)
      WHERE s.metric_name = $1 GROUP BY 1`,
    [LOAD_METRIC],
  );
  const expected = clients.flatMap((c) => c.acceptedKeys());
  const found = new Map(points.rows.map((r) => [r.key, Number(r.n)]));
  t.ok(
    clients.every((c) => c.accepted > 0),
    'every client had requests accepted',
  );
  t.equal(found.size, expected.length, `${expected.length} distinct points in metrics_points`);
  t.same(expected.filter((k) => found.get(k) !== 1).slice(0, 10), [], 'every point answered 200 is in metrics_points exactly once');
  const twice = await pg.pool.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM (SELECT 1 FROM metrics_points GROUP BY series_id, time HAVING count(*) > 1) d',
  );
  t.equal(twice.rows[0]?.n, '0', 'no (series_id, time) appears twice in metrics_points');

  const events = await pg.pool.query<{ message: string; n: string }>(
    `SELECT payload->>'message' AS message, count(*)::text AS n FROM events_generic WHERE type = 'outage_audit' GROUP BY 1`,
  );
  const auditFound = new Map(events.rows.map((r) => [r.message, Number(r.n)]));
  t.equal(auditFound.size, audit.written, `all ${audit.written} audit lines are in events_generic`);
  t.same(
    Array.from({ length: audit.written }, (_, i) => audit.message(i)).filter((m) => auditFound.get(m) !== 1),
    [],
    'each exactly once',
  );

  // ClickHouse: the spans and OTLP log records accepted during the outage, each once.
  const db = ch.database;
  const chCounts = async (query: string) =>
    new Map(((await (await ch.client.query({ query, format: 'JSONEachRow' })).json()) as Array<{ k: string; n: string }>).map((r) => [r.k, Number(r.n)]));
  const spanIds = Array.from({ length: OUTAGE_ITEMS }, (_, i) => span(i).span_id);
  const spansFound = await chCounts(`SELECT span_id AS k, toString(count()) AS n FROM ${db}.spans WHERE span_id IN (${spanIds.map((id) => `'${id}'`).join(',')}) GROUP BY span_id`);
  t.same(spanIds.filter((id) => spansFound.get(id) !== 1), [], `each of the ${OUTAGE_ITEMS} spans sent during the outage is in spans exactly once`);
  const logMessages = Array.from({ length: OUTAGE_ITEMS }, (_, i) => otlpLog(i).message);
  const logsFound = await chCounts(`SELECT message AS k, toString(count()) AS n FROM ${db}.logs_events WHERE message LIKE 'otlp log %' GROUP BY message`);
  t.same(logMessages.filter((m) => logsFound.get(m) !== 1), [], `each of the ${OUTAGE_ITEMS} OTLP log records is in logs_events exactly once`);

  // The lines of both ClickHouse-bound file sources, each once.
  for (const w of [app, cold]) {
    const rows = (await (
      await ch.client.query({
        query: `SELECT message, toString(count()) AS n FROM ${db}.logs_events WHERE message LIKE '${w.message(0).replace(/ 0$/, '')} %' GROUP BY message`,
        format: 'JSONEachRow',
      })
    ).json()) as Array<{ message: string; n: string }>;
    const seen = new Map(rows.map((r) => [r.message, Number(r.n)]));
    t.equal(seen.size, w.written, `all ${w.written} ${path.basename(w.file)} lines are in logs_events`);
    t.same(
      Array.from({ length: w.written }, (_, i) => w.message(i)).filter((m) => seen.get(m) !== 1),
      [],
      'each exactly once',
    );
  }
});
