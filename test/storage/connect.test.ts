import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { connectClickHouse, parseClickHouseUrl } from '../../src/storage/clickhouse/connect.js';
import { connectPostgres, validatePostgresUrl } from '../../src/storage/postgres/connect.js';
import { redactUrl } from '../../src/storage/redact.js';

/** What these helpers need of a tap test. */
type Teardown = { teardown(fn: () => unknown): void };

async function tempDir(t: Teardown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-connect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

t.test('redactUrl masks passwords and secret parameters', async (t) => {
  t.equal(redactUrl('postgres://app:s3cr%40t@db:5432/metrics?sslmode=require'), 'postgres://app:***@db:5432/metrics?sslmode=require');
  t.equal(redactUrl('http://default:pw@ch:8123/logs'), 'http://default:***@ch:8123/logs');
  t.equal(redactUrl('postgresql://db/x?user=u&password=hunter2'), 'postgresql://db/x?user=u&password=***');
  t.equal(redactUrl('postgres://app@db/x'), 'postgres://app@db/x', 'no password, nothing to mask');
  t.equal(redactUrl('embedded'), 'embedded');
  t.equal(redactUrl('chdb://clickhouse'), 'chdb://clickhouse');
  t.notMatch(redactUrl('postgres://u:p@ss@[bad'), /p@ss/, 'unparseable URLs are masked too');
});

t.test('url validation needs no I/O', async (t) => {
  t.doesNotThrow(() => validatePostgresUrl('embedded'));
  t.doesNotThrow(() => validatePostgresUrl('postgresql://u:p@h:5432/d?sslmode=verify-full'));
  t.throws(() => validatePostgresUrl('mysql://u:secret@h/d'), { code: 'TC_PG_URL_INVALID', message: /mysql:.*\*\*\*/ });
  t.throws(() => validatePostgresUrl('not a url'), { code: 'TC_PG_URL_INVALID' });

  t.same(parseClickHouseUrl('chdb://clickhouse', '/var/lib/tc'), { kind: 'embedded', path: '/var/lib/tc/clickhouse', database: 'default' });
  t.same(parseClickHouseUrl('chdb:///abs/ch?database=obs', '/var/lib/tc'), { kind: 'embedded', path: '/abs/ch', database: 'obs' });
  t.same(parseClickHouseUrl('https://u:p@ch.example:8443/logs?request_timeout=5000', '/x'), {
    kind: 'server',
    url: 'https://u:p@ch.example:8443/?request_timeout=5000',
    database: 'logs',
  });
  t.same(parseClickHouseUrl('http://ch:8123', '/x'), { kind: 'server', url: 'http://ch:8123/', database: 'default' });
  t.throws(() => parseClickHouseUrl('chdb://', '/x'), { code: 'TC_CH_URL_INVALID' });
  t.throws(() => parseClickHouseUrl('http://ch:8123/bad-name', '/x'), { code: 'TC_CH_URL_INVALID' });
  t.throws(() => parseClickHouseUrl('tcp://ch:9000', '/x'), { code: 'TC_CH_URL_INVALID' });
  t.throws(() => parseClickHouseUrl('::', '/x'), { code: 'TC_CH_URL_INVALID' });
});

t.test('unreachable servers are typed errors that do not leak the password', async (t) => {
  const port = await closedPort();
  const pgErr = await connectPostgres(`postgres://app:hunter2@127.0.0.1:${port}/x`, { dataDir: os.tmpdir() }).catch((e: unknown) => e);
  t.match(pgErr, { code: 'TC_PG_UNREACHABLE', message: /app:\*\*\*@127\.0\.0\.1/ });
  t.notMatch(String((pgErr as Error).message), /hunter2/);
  const chErr = await connectClickHouse(`http://app:hunter2@127.0.0.1:${port}/logs`, { dataDir: os.tmpdir() }).catch((e: unknown) => e);
  t.match(chErr, { code: 'TC_CH_UNREACHABLE', message: /app:\*\*\*@127\.0\.0\.1/ });
  t.notMatch(String((chErr as Error).message), /hunter2/);
});

t.test('chdb: one engine per process, shared and ref-counted', async (t) => {
  const dataDir = await tempDir(t);
  const a = await connectClickHouse('chdb://ch-a?database=obs', { dataDir });
  const b = await connectClickHouse(`chdb://${path.join(dataDir, 'ch-a')}`, { dataDir });
  t.equal(a.client, b.client, 'the same directory shares one client');
  t.equal(a.kind, 'embedded');
  t.equal(a.database, 'obs');
  await t.rejects(connectClickHouse('chdb://ch-b', { dataDir }), { code: 'TC_CHDB_PATH_CONFLICT', message: /ch-a.*ch-b/ });
  await a.release();
  await a.release();
  const [row] = await (await b.client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json<{ one: number }>();
  t.equal(Number(row?.one), 1, 'still open while one user holds it');
  await b.release();
  const c = await connectClickHouse('chdb://ch-b', { dataDir });
  t.not(c.client, a.client, 'after the last release another directory may be opened');
  await c.release();
});

t.test('embedded PostgreSQL: shared, ref-counted, persistent across restarts', async (t) => {
  const dataDir = await tempDir(t);
  const started = Date.now();
  const first = await connectPostgres('embedded', { dataDir, embedded: { settings: { fsync: 'off' } } });
  t.comment(`first start (initdb + start) took ${Date.now() - started} ms`);
  const second = await connectPostgres('embedded', { dataDir });
  t.equal(first.kind, 'embedded');
  t.equal(first.displayUrl, second.displayUrl, 'one server for both users');
  t.notMatch(first.displayUrl, /postgres:\/\/.*:.*@/, 'the display url holds no password');
  const port = Number(/port (\d+)/.exec(first.displayUrl)?.[1]);
  await first.pool.query('CREATE TABLE kept (v text)');
  await first.pool.query(`INSERT INTO kept VALUES ('survives a restart')`);
  const credentials = await stat(path.join(dataDir, 'postgres', 'credentials.json'));
  t.equal(credentials.mode & 0o777, 0o600, 'the password file is private');
  if (process.getuid?.() === 0) {
    const pgdata = await stat(path.join(dataDir, 'postgres', 'pgdata'));
    t.not(pgdata.uid, 0, 'as root, the cluster belongs to the postgres user');
  }

  await first.release();
  t.same((await second.pool.query('SELECT 1 AS ok')).rows, [{ ok: 1 }], 'still running for the second user');
  await second.release();
  const probe = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
  await t.rejects(probe.connect(), 'stopped after the last release');

  const restarted = Date.now();
  const again = await connectPostgres('embedded', { dataDir });
  t.comment(`restart of the existing cluster took ${Date.now() - restarted} ms`);
  t.same((await again.pool.query('SELECT v FROM kept')).rows, [{ v: 'survives a restart' }]);
  await again.release();
});

t.test('embedded PostgreSQL as root: a parent the postgres user cannot traverse is named, not retried blindly', async (t) => {
  if (process.getuid?.() !== 0) return void t.pass('skipped: only root hands the cluster to the postgres user');
  const parent = await tempDir(t); // mkdtemp: mode 0700, owned by root
  const dataDir = path.join(parent, 'data');
  await t.rejects(connectPostgres('embedded', { dataDir }), {
    code: 'TC_PG_EMBEDDED_ROOT',
    message: new RegExp(`${parent.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(mode 0700\\) is not traversable .*chmod o\\+x`),
  });
  t.equal((await stat(parent)).mode & 0o777, 0o700, "the operator's directory is left as it was");
});
