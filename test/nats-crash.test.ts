import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exited, repoRoot, spawnAgent, stoppedGracefully } from './helpers/agent-process.js';
import { startNats } from './helpers/nats.js';
import { eventually, tempDir } from './helpers/pipeline.js';

/**
 * Exactly once across the bus (docs/scaling.md): an edge agent (generator → nats sink) and a
 * gateway agent (nats source → a sink that appends each delivery to a file) run as child
 * processes against a real JetStream server, and are SIGKILLed at random moments, each alone and
 * both together, then restarted on their data directories. Afterwards every generated sequence
 * number is in the gateway's deliveries, and under one delivery token only: the edge's replays
 * were dropped by the stream's duplicate window, and the gateway's redeliveries were recognised
 * from its checkpoint. Every delivery is named by the stream message it came from
 * (`rec@origin:nats:TELEMETRY:<the edge's delivery token>`), so a delivery the gateway's own sink
 * replays carries the same token, which a destination with a ledger stores once.
 */

interface Delivery {
  token: string;
  events: Array<{ labels: { seq: string } }>;
}

const TOTAL = 30_000;

t.test('edge and gateway SIGKILLed at random: every item lands exactly once', async (t) => {
  const nats = await startNats(t);
  const dir = tempDir(t, 'thermocline-nats-crash-');
  const record = path.join(dir, 'deliveries.jsonl');
  const edgeConfig = path.join(dir, 'edge.toml');
  const gatewayConfig = path.join(dir, 'gateway.toml');
  fs.writeFileSync(
    edgeConfig,
    `data_dir = ${JSON.stringify(path.join(dir, 'edge'))}
[api]
enabled = false
[sources.gen]
type = "generator"
rate = 1000
batch_size = 100
count = ${TOTAL}
kinds = ["log"]
[sinks.bus]
type = "nats"
inputs = ["gen"]
servers = ["${nats.url}"]
batch = { max_events = 400, timeout_secs = 0.02 }
retry = { initial_backoff_secs = 0.05, max_backoff_secs = 0.5 }
`,
  );
  fs.writeFileSync(
    gatewayConfig,
    `data_dir = ${JSON.stringify(path.join(dir, 'gateway'))}
[api]
enabled = false
[plugins]
load = [${JSON.stringify(path.join(repoRoot, 'test/fixtures/plugins/file-recorder.ts'))}]
[sources.bus]
type = "nats"
servers = ["${nats.url}"]
fetch_batch = 20
ack_wait = "2s"
[sinks.rec]
type = "file_recorder"
inputs = ["bus"]
path = ${JSON.stringify(record)}
delay_ms = 5
batch = { max_events = 300, timeout_secs = 0.02 }
`,
  );
  const parsed = () =>
    (fs.existsSync(record) ? fs.readFileSync(record, 'utf8').split('\n') : []).flatMap((l) => {
      try {
        return l ? [JSON.parse(l) as Delivery] : [];
      } catch {
        return [];
      }
    });
  const seen = () => new Set(parsed().flatMap((d) => d.events.map((e) => e.labels.seq))).size;

  let edge = spawnAgent(edgeConfig);
  let gateway = spawnAgent(gatewayConfig);
  const kills = 6;
  for (let i = 0; i < kills; i++) {
    const before = seen();
    await eventually(() => seen() > before, 60_000, `progress in round ${i + 1}`).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (${seen()} items seen)\n--- edge\n${edge.output().slice(-1500)}\n--- gateway\n${gateway.output().slice(-1500)}`);
    });
    await new Promise((r) => setTimeout(r, 200 + Math.floor(Math.random() * 800)));
    const which = i % 3 === 0 ? 'both' : i % 3 === 1 ? 'gateway' : 'edge';
    if (which !== 'edge') {
      gateway.kill('SIGKILL');
      await exited(gateway);
      gateway = spawnAgent(gatewayConfig);
    }
    if (which !== 'gateway') {
      edge.kill('SIGKILL');
      await exited(edge);
      edge = spawnAgent(edgeConfig);
    }
  }
  await eventually(() => seen() >= TOTAL, 120_000, 'all events delivered');
  for (const agent of [edge, gateway]) {
    // A SIGTERM before the agent installed its handlers would just kill it.
    await eventually(() => /"msg":"pipeline started"/.test(agent.output()), 30_000, 'the last runs started');
    agent.kill('SIGTERM');
    const stop = await exited(agent);
    t.ok(stoppedGracefully(stop, agent.output()), 'the final runs stop cleanly on SIGTERM', { ...stop, output: agent.output().slice(-3000) });
  }

  const byToken = new Map<string, Delivery>();
  for (const d of parsed()) byToken.set(d.token, d);
  const owner = new Map<string, string>();
  let twice = 0;
  for (const [token, d] of byToken) {
    for (const e of d.events) {
      if (owner.has(e.labels.seq)) twice++;
      owner.set(e.labels.seq, token);
    }
  }
  t.equal(twice, 0, "no item arrived under two tokens (repeats of one token are the gateway sink's own replays)");
  const notOrigin = [...byToken.keys()].filter((token) => !/^rec@origin:nats:TELEMETRY:bus@[0-9a-f]+:\d+(:\d+\/\d+)?$/.test(token));
  t.same(notOrigin.slice(0, 5), [], "every delivery is named by its stream message's identity");
  t.same(
    [...owner.keys()].map(Number).sort((a, b) => a - b),
    Array.from({ length: TOTAL }, (_, i) => i),
    'no item is missing',
  );
});
