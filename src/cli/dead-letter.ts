/**
 * `thermocline dead-letter`: what the destinations rejected, readable. The dead_letter table holds
 * encoded batches (the queue's binary codec), so `sqlite3 … select *` shows a blob; this lists the
 * entries and decodes one into JSON lines, the rejected rows marked with the destination's reason.
 * It opens the queue database read-only, so it is safe next to a running agent (WAL readers).
 *
 * `--replay ID [--to SINK]` moves an entry back into a sink's queue, and works only on a stopped
 * agent's data_dir (it takes the data_dir lock like the agent does): a running agent keeps each
 * queue's totals and its delivery loop's wake-ups in memory, so a batch appended behind its back
 * would be delivered only by chance and its capacity checks would be wrong; and the agent's API
 * stays read-only. See docs/operations.md#dead-letters.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { decodeBatch } from '../core/codec/batch.js';
import { DataDirLock } from '../core/buffer/lock.js';
import { QueueStore } from '../core/buffer/store.js';
import { CORE_ERRORS, ThermoclineError } from '../core/errors.js';
import type { Subcommand } from './commands.js';
import { configPath, EXIT_CONFIG, EXIT_FAILURE, loadOrExplain } from './config.js';

const USAGE = 'dead-letter [-c FILE | --data-dir DIR] [--component ID] [--show ID | --replay ID [--to SINK]]';

interface Entry {
  id: number;
  component: string;
  seq: number | null;
  failed_us: number;
  error: string;
  events: number;
  rows: string | null;
}

export interface DeadLetterIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: DeadLetterIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

export async function runDeadLetter(args: string[], io: DeadLetterIo = consoleIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, component: { type: 'string' }, show: { type: 'string' }, replay: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\nusage: thermocline ${USAGE}`);
    return 64;
  }
  if (values.help) {
    io.out(`usage: thermocline ${USAGE}`);
    return 0;
  }
  let dataDir = values['data-dir'];
  if (dataDir === undefined) {
    const config = await loadOrExplain(configPath(values.config));
    if (!config) return EXIT_CONFIG;
    dataDir = config.dataDir;
  }
  const file = path.join(dataDir, 'queue.db');
  if (!fs.existsSync(file)) {
    io.err(`error: ${file} does not exist: no agent has run with data_dir "${dataDir}" (pass --data-dir or -c)`);
    return EXIT_FAILURE;
  }
  if (values.to !== undefined && values.replay === undefined) {
    io.err(`error: --to only goes with --replay\nusage: thermocline ${USAGE}`);
    return 64;
  }
  if (values.replay !== undefined) {
    const id = Number(values.replay);
    if (!Number.isSafeInteger(id) || id <= 0) {
      io.err(`error: --replay takes an entry id (a positive integer), not "${values.replay}"`);
      return 64;
    }
    return replay(dataDir, id, values.to, io);
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    if (values.show !== undefined) return show(db, Number(values.show), io);
    const where = values.component === undefined ? '' : 'WHERE component = ?';
    const params = values.component === undefined ? [] : [values.component];
    const entries = db.prepare(`SELECT id, component, seq, failed_us, error, events, rows FROM dead_letter ${where} ORDER BY id`).all(...params) as Entry[];
    if (entries.length === 0) {
      io.out(`no dead letters in ${file}${values.component === undefined ? '' : ` for "${values.component}"`}`);
      return 0;
    }
    const lines = [['ID', 'FAILED AT (UTC)', 'COMPONENT', 'EVENTS', 'ERROR']];
    for (const e of entries) {
      const rejected = e.rows === null ? '' : ` (${(JSON.parse(e.rows) as unknown[]).length} rejected rows)`;
      lines.push([String(e.id), new Date(e.failed_us / 1000).toISOString().replace('T', ' ').slice(0, 19), e.component, `${e.events}${rejected}`, e.error.split('\n')[0]?.slice(0, 120) ?? '']);
    }
    const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] as string).length)));
    for (const l of lines) io.out(l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] as number))).join('  '));
    io.out(`\n${entries.length} entries; \`thermocline dead-letter --show ID\` prints one as JSON lines`);
    return 0;
  } finally {
    db.close();
  }
}

function show(db: Database.Database, id: number, io: DeadLetterIo): number {
  const row = db.prepare(`SELECT id, component, seq, failed_us, error, events, rows, data FROM dead_letter WHERE id = ?`).get(id) as (Entry & { data: Buffer }) | undefined;
  if (!row) {
    io.err(`error: no dead letter with id ${id} (\`thermocline dead-letter\` lists them)`);
    return EXIT_FAILURE;
  }
  io.err(`# ${row.component} seq ${row.seq ?? '-'} failed at ${new Date(row.failed_us / 1000).toISOString()}: ${row.error}`);
  let events;
  try {
    events = decodeBatch(row.data);
  } catch (err) {
    // A corrupt entry's raw bytes are what was found in the queue; they do not decode by definition.
    io.err(`error: the stored batch cannot be decoded (${(err as Error).message}); the bytes are in the dead_letter table's data column`);
    return EXIT_FAILURE;
  }
  // With per-row reasons only the rejected rows are in `data`; `index` is the position there.
  const reasons = new Map((row.rows === null ? [] : (JSON.parse(row.rows) as Array<{ index: number; reason: string }>)).map((r) => [r.index, r.reason]));
  events.forEach((event, i) => {
    const reason = reasons.get(i);
    io.out(JSON.stringify(reason === undefined ? event : { reason, event }));
  });
  return 0;
}

function replay(dataDir: string, id: number, to: string | undefined, io: DeadLetterIo): number {
  let lock: DataDirLock | undefined;
  let store: QueueStore | undefined;
  try {
    lock = DataDirLock.acquire(dataDir);
    store = QueueStore.open(dataDir);
    const done = store.replayDeadLetter(id, to, (data) => decodeBatch(data).length);
    io.out(`dead letter ${id} (${done.events} events) appended to the queue of sink "${done.sink}" as seq ${done.seq}; the agent delivers it at its next start`);
    return 0;
  } catch (err) {
    if (!(err instanceof ThermoclineError)) throw err;
    const stopFirst = err.code === CORE_ERRORS.TC_DATA_DIR_IN_USE ? '; --replay works on a stopped agent: stop it, replay, start it again' : '';
    io.err(`error: ${err.message} [${err.code}]${stopFirst}`);
    return EXIT_FAILURE;
  } finally {
    store?.close();
    lock?.release();
  }
}

export const deadLetterCommand: Subcommand = {
  name: 'dead-letter',
  usage: USAGE,
  summary: 'list what destinations rejected (the dead_letter table); --show ID prints one entry as JSON lines; --replay ID [--to SINK] queues it again (agent stopped)',
  run: (args) => runDeadLetter(args),
};
