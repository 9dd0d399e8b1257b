import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exited, repoRoot, spawnAgent, stoppedGracefully } from './helpers/agent-process.js';
import { eventually, tempDir } from './helpers/pipeline.js';

/**
 * The engine's crash guarantee (docs/delivery.md#what-a-sigkill-can-and-cannot-do). A generator
 * feeds a sink that appends every delivery to a file; the agent is SIGKILLed at random moments
 * several times, then run until everything is delivered. What this proves:
 *
 * 1. Nothing is lost: every generated sequence number reaches the sink.
 * 2. A delivery that is repeated (killed after the sink wrote it but before the queue removed it)
 *    carries the same (sink, seq) token and exactly the same events, so a destination that
 *    remembers tokens (the PostgreSQL ledger, ClickHouse's deduplication window) stores each
 *    event exactly once.
 * 3. Events never move between tokens: a sequence number appears under one token only.
 *
 * It does not cover power loss or disk failure (see `[queue] synchronous`).
 */

interface Delivery {
  token: string;
  seq: number;
  lastSeq: number;
  events: Array<{ labels: { seq: string } }>;
}

const TOTAL = 30_000;

t.test('SIGKILL at random moments loses nothing and replays only whole, identical deliveries', async (t) => {
  const dir = tempDir(t, 'thermocline-crash-');
  const record = path.join(dir, 'deliveries.jsonl');
  const config = path.join(dir, 'crash.toml');
  fs.writeFileSync(
    config,
    `data_dir = ${JSON.stringify(path.join(dir, 'data'))}
[api]
enabled = false
[plugins]
load = [${JSON.stringify(path.join(repoRoot, 'test/fixtures/plugins/file-recorder.ts'))}]
[sources.gen]
type = "generator"
rate = 20000
batch_size = 200
count = ${TOTAL}
kinds = ["log"]
[sinks.rec]
type = "file_recorder"
inputs = ["gen"]
path = ${JSON.stringify(record)}
delay_ms = 20
batch = { max_events = 700, timeout_secs = 0.02 }
`,
  );
  const lines = () => (fs.existsSync(record) ? fs.readFileSync(record, 'utf8').split('\n').filter(Boolean) : []);
  /** Complete deliveries; a line a kill cut short was never acknowledged and is replayed whole. */
  const parsed = () =>
    lines().flatMap((l) => {
      try {
        return [JSON.parse(l) as Delivery];
      } catch {
        return [];
      }
    });
  const delivered = () => new Set(parsed().flatMap((d) => d.events.map((e) => e.labels.seq))).size;
  const kills = 6;
  for (let i = 0; i < kills; i++) {
    const before = lines().length;
    const agent = spawnAgent(config);
    // The runs before may have delivered every event: then this one has nothing to write.
    await eventually(() => lines().length > before || delivered() >= TOTAL, 30_000, `deliveries in run ${i + 1}`);
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
    agent.kill('SIGKILL');
    await exited(agent);
  }
  const agent = spawnAgent(config);
  // The killed runs may already have delivered everything: wait for this run's start too, so that
  // the SIGTERM below tests a graceful stop rather than racing the process's start.
  await eventually(() => /pipeline started/.test(agent.output()), 60_000, 'the final run to start');
  await eventually(() => delivered() >= TOTAL, 60_000, 'all events delivered');
  agent.kill('SIGTERM');
  const stop = await exited(agent);
  t.ok(stoppedGracefully(stop, agent.output()), 'the final run stops cleanly on SIGTERM', { ...stop, output: agent.output().slice(-3000) });

  const deliveries = parsed();
  const byToken = new Map<string, Delivery[]>();
  for (const d of deliveries) byToken.set(d.token, [...(byToken.get(d.token) ?? []), d]);
  const replays = [...byToken.values()].filter((ds) => ds.length > 1);
  const seqs = (d: Delivery) => d.events.map((e) => e.labels.seq).join(',');
  t.ok(
    replays.every((ds) => ds.every((d) => seqs(d) === seqs(ds[0] as Delivery) && d.lastSeq === (ds[0] as Delivery).lastSeq)),
    `every repeated token carried identical events (${replays.length} replayed deliveries)`,
  );
  const owner = new Map<string, string>();
  let moved = 0;
  for (const [token, ds] of byToken) {
    for (const e of (ds[0] as Delivery).events) {
      if (owner.has(e.labels.seq) && owner.get(e.labels.seq) !== token) moved++;
      owner.set(e.labels.seq, token);
    }
  }
  t.equal(moved, 0, 'no event appears under two tokens');
  const uniqueEvents = [...byToken.values()].reduce((n, ds) => n + (ds[0] as Delivery).events.length, 0);
  t.equal(uniqueEvents, TOTAL, 'deduplicated by token, every event is there exactly once');
  t.same(
    [...owner.keys()].map(Number).sort((a, b) => a - b),
    Array.from({ length: TOTAL }, (_, i) => i),
    'no sequence number is missing',
  );
});
