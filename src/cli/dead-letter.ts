/**
 * `thermocline dead-letter`: what the destinations rejected, readable. The dead_letter table holds
 * encoded batches (the queue's binary codec), so `sqlite3 … select *` shows a blob; this lists the
 * entries and decodes one into JSON lines, the rejected rows marked with the destination's reason.
 * It opens the queue database read-only, so it is safe next to a running agent (WAL readers).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { decodeBatch } from '../core/codec/batch.js';
import type { Subcommand } from './commands.js';
import { configPath, EXIT_CONFIG, EXIT_FAILURE, loadOrExplain } from './config.js';

const USAGE = 'dead-letter [-c FILE | --data-dir DIR] [--component ID] [--show ID]';

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
      options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, component: { type: 'string' }, show: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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

export const deadLetterCommand: Subcommand = {
  name: 'dead-letter',
  usage: USAGE,
  summary: 'list what destinations rejected (the dead_letter table); --show ID prints one entry as JSON lines',
  run: (args) => runDeadLetter(args),
};
