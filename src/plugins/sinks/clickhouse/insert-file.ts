/**
 * RowBinary into the embedded engine. Its connection turns insert bodies into UTF-8 text, which
 * corrupts binary formats (README "Insert format"), so the body is written to a file in the sink's
 * data directory, chunk by chunk, and read by the engine itself:
 * `INSERT INTO t (…) SETTINGS <the same clause, token included> SELECT * FROM file(<path>, 'RowBinary', <columns>)`.
 * ClickHouse deduplicates an INSERT … SELECT by its token as it does an INSERT with data
 * (rowbinary.test.ts replays one), and the file is removed once the statement returns.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type InsertOptions, type InsertTarget, insertStatement, quote } from './insert.js';

let files = 0;

/** Writes `chunks` to a new file in `dir` and returns its path; a failed write leaves no file. */
export async function spoolFile(chunks: Iterable<Buffer>, dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `insert-${process.pid}-${++files}.rowbinary`);
  try {
    const out = await fs.open(file, 'w');
    try {
      for (const chunk of chunks) await out.write(chunk);
    } finally {
      await out.close();
    }
  } catch (err) {
    await fs.rm(file, { force: true });
    throw err;
  }
  return file;
}

/** Inserts a spooled body, then removes the file whatever the outcome. */
export async function insertSpooled(
  target: InsertTarget,
  table: string,
  columns: readonly string[],
  types: ReadonlyMap<string, string>,
  file: string,
  token: string,
  options: InsertOptions,
): Promise<void> {
  try {
    const structure = columns.map((c) => `${c} ${types.get(c) ?? 'String'}`).join(', ');
    const statement = insertStatement(target.database, table, columns, token, options, 'RowBinary').replace(/ FORMAT RowBinary$/, '');
    await target.client.command({ query: `${statement} SELECT * FROM file(${quote(file)}, 'RowBinary', ${quote(structure)})` });
  } finally {
    await fs.rm(file, { force: true });
  }
}
