/**
 * Reads insert bodies the stand-in server (fake-server.ts) recorded with a real parser: the embedded
 * engine's `file(<body>, '<format>', '<structure>')`, so RowBinary and JSON bodies are checked by
 * ClickHouse's own readers rather than by a second implementation of the formats.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { tempDir, withClickHouse } from '../../../../testing/index.js';
import { COLUMNS, type TableRole } from '../tables.js';
import { type RecordedInsert, SEED_COLUMNS } from './fake-server.js';

const ROLE_OF: Record<string, TableRole> = { logs_events: 'log', spans: 'span', span_events: 'span_event', metrics_raw: 'metric', events_raw: 'event' };

export const tableOf = (i: RecordedInsert): string => /^INSERT INTO \w+\.(\w+)/.exec(i.query)?.[1] ?? '';
export const tokenOf = (i: RecordedInsert): string | undefined => /insert_deduplication_token = '([^']*)'/.exec(i.query)?.[1];
export const formatOf = (i: RecordedInsert): string | undefined => /FORMAT (\w+)$/.exec(i.query)?.[1];

/** The rows of a recorded body (a seed table's), every value as the engine's toString(), in order. */
export async function rowsOf(t: Test, insert: RecordedInsert): Promise<string[][]> {
  const ch = await withClickHouse(t);
  const table = tableOf(insert);
  const types = new Map(SEED_COLUMNS[table]);
  const columns = COLUMNS[ROLE_OF[table] as TableRole];
  const structure = columns.map((c) => `${c} ${types.get(c) ?? ''}`).join(', ');
  const file = path.join(tempDir(t, 'thermocline-ch-body-'), 'body');
  fs.writeFileSync(file, insert.raw);
  const result = await ch.client.query({
    query: `SELECT ${columns.map((c) => `toString(${c})`).join(', ')} FROM file('${file}', '${formatOf(insert)}', '${structure.replace(/'/g, "\\'")}') SETTINGS max_threads = 1`,
    format: 'JSONCompactEachRow',
  });
  return result.json<string[]>();
}
