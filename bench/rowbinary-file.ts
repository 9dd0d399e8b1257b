/**
 * RowBinary into the embedded engine for the bare baselines of the chdb benches
 * (file-clickhouse.ts, otlp-clickhouse.ts): what a script writing its rows in the best format can
 * do on its own. The clickhouse sink's encoder is not part of the public API, so the rows are
 * encoded by the benches' own RowBinary writer for the seed tables (bench/clickhouse-wire.ts, as
 * agent-ceiling.ts's bare scripts encode theirs). The body goes through a file, as the sink's does
 * on chdb: chdb's connection turns an insert body into UTF-8 text, which corrupts binary data
 * (src/plugins/sinks/clickhouse/README.md, "Insert format"), so the engine reads the file itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { rowBinaryRow, RowBinaryWriter, SEED_TYPES } from './clickhouse-wire.js';

const CHUNK_BYTES = 1 << 20;
let files = 0;

/**
 * The rows of one insert into the seed table `table`, written to a spool file in `dir` in chunks of
 * about 1 MiB as they come, as the sink spools its chunks: the body is never held whole. `insert()`
 * runs the statement the sink sends on chdb, `INSERT INTO t (…) SETTINGS insert_deduplicate = 1,
 * insert_deduplication_token = <token> SELECT * FROM file(<file>, 'RowBinary', <columns and
 * types>)`, and removes the file.
 */
export class RowBinaryFile {
  rows = 0;
  private readonly w = new RowBinaryWriter();
  private readonly write: (w: RowBinaryWriter, row: readonly unknown[]) => void;
  private readonly file: string;
  private readonly fd: number;

  constructor(
    private readonly table: string,
    private readonly columns: readonly string[],
    dir: string,
  ) {
    this.write = rowBinaryRow(table, columns);
    this.file = path.join(dir, `bare-${process.pid}-${++files}.rowbinary`);
    this.fd = fs.openSync(this.file, 'w');
  }

  /** A row: values in `columns` order, times as integer ticks, maps as string records. */
  add(row: readonly unknown[]): void {
    this.write(this.w, row);
    this.rows++;
    if (this.w.pos >= CHUNK_BYTES) this.flush();
  }

  private flush(): void {
    if (this.w.pos > 0) fs.writeSync(this.fd, this.w.take());
    this.w.pos = 0;
  }

  async insert(client: ClickHouseClient, token: string): Promise<void> {
    this.flush();
    fs.closeSync(this.fd);
    try {
      const structure = this.columns.map((c) => `${c} ${SEED_TYPES[this.table]?.[c]}`).join(', ');
      await client.command({
        query: `INSERT INTO default.${this.table} (${this.columns.join(', ')}) SETTINGS insert_deduplicate = 1, insert_deduplication_token = '${token}' SELECT * FROM file('${this.file}', 'RowBinary', '${structure.replaceAll("'", "\\'")}')`,
      });
    } finally {
      await fs.promises.rm(this.file, { force: true });
    }
  }
}
