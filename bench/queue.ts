/**
 * Queue benchmark: generator → durable queue → blackhole, in one process, beside a raw
 * better-sqlite3 loop appending the same encoded blobs (WAL, synchronous=NORMAL, one transaction
 * per blob, as the queue commits one per emit). The pipeline also encodes, reads back, decodes and
 * deletes; the baseline only appends.
 *
 *   npx tsx bench/queue.ts [events=2000000] [batch_size=10000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { encodeBatch } from '../src/core/codec/batch.js';
import { parseConfig } from '../src/core/config/load.js';
import type { GeneratorConfig } from '../src/plugins/sources/generator/config.js';
import { Synthesizer } from '../src/plugins/sources/generator/synth.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { PluginRegistry } from '../src/core/plugin/registry.js';
import generator from '../src/plugins/sources/generator/index.js';
import blackhole from '../src/plugins/sinks/blackhole/index.js';

const total = Number(process.argv[2] ?? 2_000_000);
const batchSize = Number(process.argv[3] ?? 10_000);
const kinds = (process.env.KINDS ?? 'log').split(',') as GeneratorConfig['kinds'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-queue-'));

async function pipeline(): Promise<{ seconds: number; bytes: number }> {
  const registry = new PluginRegistry();
  registry.register(generator);
  registry.register(blackhole);
  const config = await parseConfig(
    `data_dir = "${dir}/pipeline"
[api]
enabled = false
[sources.gen]
type = "generator"
rate = 0
count = ${total}
batch_size = ${batchSize}
kinds = ${JSON.stringify(kinds)}
[sinks.hole]
type = "blackhole"
inputs = ["gen"]
print_interval_secs = 0
batch = { max_events = ${Math.max(batchSize, 10_000)}, timeout_secs = 0 }
`,
    { registry, env: {} },
  );
  const started = process.hrtime.bigint();
  const rt = await Runtime.start(config, { logger: pino({ level: 'warn' }) });
  const stats = () => rt.metrics.componentStats().find((s) => s.id === 'hole');
  while ((stats()?.sentEvents ?? 0) < total) await new Promise((r) => setTimeout(r, 2));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const bytes = stats()?.sentBytes ?? 0;
  await rt.stop();
  return { seconds, bytes };
}

function rawAppend(): { seconds: number; bytes: number } {
  const synth = new Synthesizer({ rate: 0, kinds, batch_size: batchSize, service: 'generator', message_bytes: 100 });
  const blobs: Buffer[] = [];
  for (let seq = 0; seq < total; seq += batchSize) {
    const n = Math.min(batchSize, total - seq);
    blobs.push(Buffer.from(encodeBatch(Array.from({ length: n }, (_, i) => synth.make(seq + i, Date.now() * 1000)))));
  }
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE q (seq INTEGER PRIMARY KEY AUTOINCREMENT, created_us INTEGER, events INTEGER, bytes INTEGER, data BLOB)');
  const insert = db.prepare('INSERT INTO q (created_us, events, bytes, data) VALUES (?, ?, ?, ?)');
  const append = db.transaction((b: Buffer) => insert.run(Date.now() * 1000, batchSize, b.length, b));
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const b of blobs) {
    append(b);
    bytes += b.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return { seconds, bytes };
}

const raw = rawAppend();
const pipe = await pipeline();
fs.rmSync(dir, { recursive: true, force: true });
const mb = (b: number, s: number) => b / 1e6 / s;
console.log(`events=${total} batch_size=${batchSize} kinds=${kinds.join(',')} encoded bytes=${(pipe.bytes / 1e6).toFixed(1)} MB (${(pipe.bytes / total).toFixed(1)} B/event)`);
console.log(`raw better-sqlite3 append : ${(total / raw.seconds / 1e6).toFixed(2)} M events/s  ${mb(raw.bytes, raw.seconds).toFixed(0)} MB/s`);
console.log(`generator→queue→blackhole : ${(total / pipe.seconds / 1e6).toFixed(2)} M events/s  ${mb(pipe.bytes, pipe.seconds).toFixed(0)} MB/s`);
console.log(`ratio (pipeline / raw append) = ${(raw.seconds / pipe.seconds).toFixed(2)}x`);
