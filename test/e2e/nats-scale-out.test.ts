import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { decodeBatch, type TelemetryEvent } from '../../src/index.js';
import { exited, repoRoot, spawnAgent } from '../helpers/agent-process.js';
import { startNatsCluster } from '../helpers/nats.js';
import { eventually, tempDir } from '../helpers/pipeline.js';

/**
 * The scale-out picture of docs/scaling.md under faults: a 3-node JetStream cluster with a
 * 3-replica stream, two edge agents (numbered logs, metrics and spans from a generator → nats
 * sink) and a pool of gateway agents (nats source → a sink appending each delivery to a file).
 * During the run one NATS node is SIGKILLed and later restarted, one gateway is SIGKILLed and
 * never restarted, and one gateway is added. Afterwards every item is accounted for exactly once:
 * delivered by a gateway, or still in the disk queue of the gateway that was killed for good
 * (which a gateway started on that data directory would deliver; docs/scaling.md, "What happens
 * when").
 */

interface Delivery {
  token: string;
  events: TelemetryEvent[];
}

const PER_EDGE = 20_000;

const idOf = (e: TelemetryEvent): string => {
  const seq = e.kind === 'span' ? e.attr.seq : e.kind === 'metric' || e.kind === 'log' ? e.labels.seq : undefined;
  const service = e.kind === 'metric' ? e.labels.service : (e as { service: string }).service;
  return `${service}:${seq}`;
};

function recorded(file: string): Delivery[] {
  return (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []).flatMap((l) => {
    try {
      return l ? [JSON.parse(l) as Delivery] : [];
    } catch {
      return [];
    }
  });
}

/** Events still queued in an agent's disk queue (not yet acknowledged by its sink). */
function queuedEvents(dataDir: string): TelemetryEvent[] {
  const db = new Database(path.join(dataDir, 'queue.db'), { readonly: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'q\\_%' ESCAPE '\\'`).all() as Array<{ name: string }>;
    return tables.flatMap(({ name }) => (db.prepare(`SELECT data FROM "${name}"`).all() as Array<{ data: Buffer }>).flatMap((r) => decodeBatch(r.data)));
  } finally {
    db.close();
  }
}

t.test('3-node cluster, two edges, a changing pool of gateways: every item exactly once', async (t) => {
  const nodes = await startNatsCluster(t, 3);
  const servers = JSON.stringify(nodes.map((n) => n.url));
  const dir = tempDir(t, 'thermocline-scale-out-');
  const edge = (name: string) => {
    const file = path.join(dir, `${name}.toml`);
    fs.writeFileSync(
      file,
      `data_dir = ${JSON.stringify(path.join(dir, name))}
[api]
enabled = false
[sources.gen]
type = "generator"
rate = 400
batch_size = 50
count = ${PER_EDGE}
service = "${name}"
[sinks.bus]
type = "nats"
inputs = ["gen"]
servers = ${servers}
subject = "telemetry.{kind}"
stream = { replicas = 3 }
request_timeout = "3s"
batch = { max_events = 500, timeout_secs = 0.05 }
retry = { initial_backoff_secs = 0.1, max_backoff_secs = 1 }
`,
    );
    return spawnAgent(file);
  };
  const gatewayFile = (name: string) => path.join(dir, `${name}.jsonl`);
  const gateway = (name: string) => {
    const file = path.join(dir, `${name}.toml`);
    fs.writeFileSync(
      file,
      `data_dir = ${JSON.stringify(path.join(dir, name))}
[api]
enabled = false
[plugins]
load = [${JSON.stringify(path.join(repoRoot, 'test/fixtures/plugins/file-recorder.ts'))}]
[sources.bus]
type = "nats"
servers = ${servers}
consumer = "gateways"
fetch_batch = 20
ack_wait = "3s"
request_timeout = "3s"
[sinks.rec]
type = "file_recorder"
inputs = ["bus"]
path = ${JSON.stringify(gatewayFile(name))}
delay_ms = 5
batch = { max_events = 300, timeout_secs = 0.02 }
`,
    );
    return spawnAgent(file);
  };
  const names = ['g1', 'g2', 'g3', 'g4'];
  const count = () => names.reduce((n, g) => n + recorded(gatewayFile(g)).reduce((m, d) => m + d.events.length, 0), 0);

  const edges = [edge('edge-a'), edge('edge-b')];
  // Gateways started before the edges created the stream fail their start
  // (TC_NATS_STREAM_MISSING) and are retried with a growing backoff: start them once it exists.
  await eventually(() => edges.every((e) => /stream TELEMETRY (created|verified)/.test(e.output())), 90_000, 'stream created by the edges');
  const gateways = new Map([
    ['g1', gateway('g1')],
    ['g2', gateway('g2')],
    ['g3', gateway('g3')],
  ]);
  t.teardown(() => [...edges, ...gateways.values()].forEach((a) => a.kill('SIGKILL')));
  const dump = () => [...edges, ...gateways.values()].map((a) => a.output().slice(-1500)).join('\n---\n');
  const progress = async (what: string, more = 1000) => {
    const before = count();
    await eventually(() => count() >= before + more, 90_000, what).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${dump()}`);
    });
  };

  await progress('first deliveries through the cluster');
  await nodes[1]?.kill('SIGKILL');
  await progress('progress with one NATS node down');
  // The gateway to lose must have taken its share first (on two busy cores it can start last).
  await eventually(() => recorded(gatewayFile('g1')).length > 0, 90_000, 'g1 takes a share').catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${dump()}`);
  });
  const dead = gateways.get('g1');
  dead?.kill('SIGKILL');
  await exited(dead as NonNullable<typeof dead>);
  gateways.delete('g1');
  await nodes[1]?.start();
  const added = gateway('g4');
  gateways.set('g4', added);
  await eventually(() => recorded(gatewayFile('g4')).length > 0, 90_000, 'the added gateway takes a share').catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${dump()}`);
  });

  const total = 2 * PER_EDGE;
  const stranded = () => queuedEvents(path.join(dir, 'g1'));
  const accounted = () => new Set([...names.flatMap((g) => recorded(gatewayFile(g)).flatMap((d) => d.events.map(idOf))), ...stranded().map(idOf)]).size;
  await eventually(() => accounted() >= total, 120_000, 'every item delivered or in the lost gateway\'s queue').catch((err: unknown) => {
    throw new Error(`${(err as Error).message} (${accounted()} of ${total})\n${dump()}`);
  });
  for (const a of [...edges, ...gateways.values()]) {
    a.kill('SIGTERM');
    await exited(a);
  }

  // Deduplicated by delivery token (a gateway's own sink replays whole deliveries with their token).
  const owner = new Map<string, string>();
  const shares: Record<string, number> = {};
  const twice: string[] = [];
  for (const g of names) {
    const byToken = new Map(recorded(gatewayFile(g)).map((d) => [d.token, d]));
    shares[g] = 0;
    for (const [token, d] of byToken) {
      for (const e of d.events) {
        const id = idOf(e);
        if (owner.has(id)) twice.push(`${id} in ${owner.get(id)} and ${g}:${token}`);
        owner.set(id, `${g}:${token}`);
        shares[g] = (shares[g] ?? 0) + 1;
      }
    }
  }
  const strandedIds = stranded().map(idOf);
  // The lost gateway's queue may still hold a delivery its sink wrote before the kill (it would
  // replay under the same token); only items delivered by another gateway count as twice.
  const strandedElsewhere = strandedIds.filter((id) => owner.has(id) && !(owner.get(id) as string).startsWith('g1:')).length;
  const all = new Set([...owner.keys(), ...strandedIds]);
  t.comment(`gateway shares: ${JSON.stringify(shares)}; still queued at the lost gateway g1: ${new Set(strandedIds).size}`);
  t.same(twice.slice(0, 20), [], `no item delivered by two deliveries (${twice.length} were)`);
  t.equal(strandedElsewhere, 0, 'nothing in the lost gateway\'s queue was also delivered by another');
  t.equal(all.size, total, 'every item of both edges is accounted for');
  t.ok(Object.values(shares).every((n) => n > 0), 'every gateway took a share, the lost and the added one too');
});
