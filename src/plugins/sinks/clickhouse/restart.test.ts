/**
 * The agent as a child process, restarted and killed: what one process wrote into the
 * embedded engine is there for the next (chdb binds one directory per process, hence the child
 * processes, and testdata/query.ts to read the directory in a process of its own), and SIGKILL in
 * the middle of deliveries neither loses nor repeats a row: the replayed delivery carries the same
 * tokens and ClickHouse's deduplication window drops what was already written. With CH_URL the
 * agents write to that server instead, and the test reads it directly.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { childEnv, exited, packageRoot, spawnAgent, stoppedGracefully, withClickHouse, eventually, tempDir } from '../../../testing/index.js';
import { select, urlFor } from './testdata/harness.js';

interface Setup {
  readonly dir: string;
  readonly config: string;
  readonly write: (count: number) => void;
  /** Rows in logs_events + spans, and distinct generator sequence numbers among them. */
  readonly rows: () => Promise<{ n: number; distinct: number }>;
}

const TOTALS_SQL = (db: string) =>
  `SELECT toString((SELECT count() FROM ${db}.logs_events) + (SELECT count() FROM ${db}.spans)) AS n, ` +
  `toString((SELECT uniqExact(labels['seq']) FROM ${db}.logs_events) + (SELECT uniqExact(attr['seq']) FROM ${db}.spans)) AS distinct`;

async function setup(t: Test, prefix: string): Promise<Setup | undefined> {
  const dir = tempDir(t, prefix);
  const dataDir = path.join(dir, 'data');
  const config = path.join(dir, 'agent.toml');
  let url: string;
  let rows: Setup['rows'];
  if (process.env.CH_URL) {
    const ch = await withClickHouse(t);
    url = urlFor(ch) as string;
    rows = async () => {
      const [row] = await select<{ n: string; distinct: string }>(ch, TOTALS_SQL(ch.database));
      return { n: Number(row?.n), distinct: Number(row?.distinct) };
    };
  } else if (process.env.THERMOCLINE_TESTCONTAINERS === '1') {
    t.plan(0, 'the testcontainers engine does not expose its url; run with CH_URL');
    return undefined;
  } else {
    url = 'chdb://clickhouse';
    rows = async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(packageRoot, 'src/plugins/sinks/clickhouse/testdata/query.ts'),
          `chdb://${path.join(dataDir, 'clickhouse')}`,
          dataDir,
          TOTALS_SQL('default'),
        ],
        // childEnv: a tsx child writing coverage of src/ would corrupt the suite's (see childEnv).
        { cwd: packageRoot, env: childEnv() },
      );
      const [row] = JSON.parse(stdout) as Array<{ n: string; distinct: string }>;
      return { n: Number(row?.n), distinct: Number(row?.distinct) };
    };
  }
  const write = (count: number) =>
    fs.writeFileSync(
      config,
      `data_dir = ${JSON.stringify(dataDir)}
[api]
address = "127.0.0.1:0"
[sources.gen]
type = "generator"
rate = 5000
batch_size = 500
count = ${count}
kinds = ["log", "span"]
[sinks.ch]
type = "clickhouse"
inputs = ["gen"]
url = ${JSON.stringify(url)}
batch = { max_events = 2000, timeout_secs = 0.05 }
retry = { initial_backoff_secs = 0.1, max_backoff_secs = 1 }
`,
    );
  return { dir, config, write, rows };
}

async function startAgent(config: string): Promise<{ agent: ReturnType<typeof spawnAgent>; api: string }> {
  const agent = spawnAgent(config);
  await eventually(() => /"msg":"API listening"/.test(agent.output()) || agent.exitCode !== null, 60_000, 'the agent to start');
  const address = /"address":"([^"]+)","msg":"API listening"/.exec(agent.output())?.[1];
  if (!address) throw new Error(`the agent did not start:\n${agent.output().slice(-3000)}`);
  return { agent, api: `http://${address}` };
}

async function sinkState(api: string): Promise<{ sent: number; queued: number }> {
  const components = (await (await fetch(`${api}/components`)).json()) as Array<{ id: string; kind: string; sent_events: number; queue?: { events: number } }>;
  const ch = components.find((c) => c.kind === 'sink' && c.id === 'ch');
  return { sent: ch?.sent_events ?? 0, queued: ch?.queue?.events ?? -1 };
}

/** The generator committed its last batch and the sink's queue is empty: everything was written. */
async function drained(dir: string, api: string, count: number): Promise<boolean> {
  const db = new Database(path.join(dir, 'data', 'queue.db'), { readonly: true, fileMustExist: true });
  let next: unknown;
  try {
    const row = db.prepare(`SELECT value FROM checkpoints WHERE source = 'gen'`).get() as { value: string } | undefined;
    next = row ? (JSON.parse(row.value) as { next?: unknown }).next : undefined;
  } finally {
    db.close();
  }
  return next === count && (await sinkState(api)).queued === 0;
}

async function stop(t: Test, agent: ReturnType<typeof spawnAgent>): Promise<void> {
  agent.kill('SIGTERM');
  const stop = await exited(agent);
  t.ok(stoppedGracefully(stop, agent.output()), 'the agent stops cleanly on SIGTERM', { ...stop, output: agent.output().slice(-3000) });
}

t.test('what one agent process wrote is there after a restart, and the next one adds to it', async (t) => {
  const s = await setup(t, 'thermocline-ch-restart-');
  if (!s) return;
  s.write(6000);
  const first = await startAgent(s.config);
  await eventually(() => drained(s.dir, first.api, 6000), 60_000, 'the first 6000 events written');
  await stop(t, first.agent);
  t.same(await s.rows(), { n: 6000, distinct: 6000 }, 'read back by another process after the agent exited');

  s.write(10_000); // the generator continues from its checkpoint
  const second = await startAgent(s.config);
  await eventually(() => drained(s.dir, second.api, 10_000), 60_000, 'the next 4000 events written');
  await stop(t, second.agent);
  t.same(await s.rows(), { n: 10_000, distinct: 10_000 }, "the first run's rows are still there, the second run's added");
});

t.test('SIGKILL during deliveries: every row exactly once after restarts', async (t) => {
  const s = await setup(t, 'thermocline-ch-crash-');
  if (!s) return;
  const total = 30_000;
  s.write(total);
  for (let run = 1; run <= 3; run++) {
    const { agent, api } = await startAgent(s.config);
    await eventually(async () => (await sinkState(api)).sent > 0, 60_000, `deliveries in run ${run}`);
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
    agent.kill('SIGKILL');
    await exited(agent);
  }
  const { agent, api } = await startAgent(s.config);
  await eventually(() => drained(s.dir, api, total), 120_000, 'everything written');
  await stop(t, agent);
  t.same(await s.rows(), { n: total, distinct: total }, 'no row lost, none written twice');
});
