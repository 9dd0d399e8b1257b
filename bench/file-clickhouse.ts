/**
 * End to end, file → ClickHouse on the embedded engine (chdb): a file of JSON log lines (service,
 * level, message, ids and a few more fields, ~260 bytes a line) read by a Thermocline agent
 * (file source with `format = "json"` → disk queue → clickhouse sink on `chdb://`), beside two bare
 * scripts that read the same file in big chunks, parse each line, build the same row and insert
 * the rows in inserts of the sink's default batch size (100,000 rows), one after another, with
 * `insert_deduplicate` and a deduplication token in the statement's SETTINGS, as
 * src/plugins/sinks/clickhouse/insert.ts writes them:
 *
 * - `bare-rb`: in the format the sink uses on chdb, RowBinary spooled to a file that the engine
 *   reads with `INSERT … SELECT * FROM file(…, 'RowBinary', …)` (bench/rowbinary-file.ts: the
 *   benches' own RowBinary writer, the sink's encoder not being public API);
 * - `bare-js`: JSONCompactEachRow through `@clickhouse/client`, the best text format, which is what
 *   a script that does not write files for the engine would send.
 *
 * chdb binds one data directory per process, so each side runs in a child process of its own,
 * with its own engine directory and the same tables (migrated before the clock starts). The agent
 * is started and has scanned its (still empty) directory before the clock starts; on "go" the log
 * file is linked into it, as a log appearing in a watched directory. Each child reports:
 *
 * - wall time from "go" until every row is in ClickHouse (the agent: its sink has acknowledged every
 *   line), and "sustained": lines per second up to the last full batch, without the final partial
 *   batch and the sink's wait for a fuller one (`batch.timeout_secs`);
 * - CPU seconds of the whole process (every thread: the engine's too) per million lines;
 * - peak RSS (`process.resourceUsage().maxRSS`);
 * - the garbage collector's pause as a share of the wall time (bench/gc-meter.ts);
 * - rows landed: `count()` and `uniqExact(trace_id)` must both equal the lines (exactly once).
 *
 * Goals: ≥ 1.0× the rate of the bare script in the sink's format (bare-rb), ≥ 180k lines/s
 * sustained, peak RSS within +100 MiB of that script's.
 * Sides alternate ROUNDS times (default 2); the best and median of each are printed, and the
 * agent's ratio to each bare script. BARE=rb,js picks the bare scripts; BARE=none runs the agent
 * alone (to compare two trees of it).
 *
 *   [ROUNDS=2] [BARE=rb,js|none] [BENCH_PROFILE=1] npx tsx bench/file-clickhouse.ts [lines=1000000]
 *
 * BENCH_PROFILE=1 runs each child under the sampling CPU profiler and prints the share of the
 * garbage collector and the functions with the most self time (BENCH_PROF=dir also writes the
 * profiles); the rates of such a run are not comparable with the others.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { connectClickHouse } from '../src/storage/index.js';
import { child, type ChildReport, countOnce, delivered, load, migrate, runChild, show, startAgent, summarize } from './chdb-sides.js';
import { RowBinaryFile } from './rowbinary-file.js';

const LINES = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const HOST = 'bench-host';
/** The clickhouse sink's default `batch.max_events`. */
const BATCH_ROWS = 100_000;
const CHUNK = 4 * 1024 * 1024;

const SERVICES = ['checkout', 'cart', 'payments', 'search', 'auth'];
const LEVELS = ['info', 'info', 'info', 'info', 'debug', 'warn', 'error'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/login', '/healthz', '/api/search', '/api/orders'];
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'];

/** Writes `lines` JSON log lines; returns the file's size. Line n carries trace id n, so rows can be counted distinct. */
function writeLogFile(file: string, lines: number): number {
  const fd = fs.openSync(file, 'w');
  // Recent times: rows older than the tables' TTL (docs/storage.md) would be deleted by the next merge.
  const t0 = Date.now() - lines;
  for (let n = 0; n < lines;) {
    const parts: string[] = [];
    for (let i = 0; i < 10_000 && n < lines; i++, n++) {
      const status = n % 53 === 0 ? 500 : 200;
      parts.push(
        `${JSON.stringify({
          timestamp: new Date(t0 + n).toISOString(),
          level: LEVELS[n % LEVELS.length],
          service: SERVICES[n % SERVICES.length],
          message: `GET ${ROUTES[n % ROUTES.length]}/${n % 1000} ${status} ${n % 97}ms`,
          trace_id: n.toString(16).padStart(32, '0'),
          span_id: (n * 7).toString(16).padStart(16, '0'),
          user: `u${n % 5000}`,
          region: REGIONS[n % REGIONS.length],
          status,
          duration_ms: n % 97,
        })}\n`,
      );
    }
    fs.writeSync(fd, parts.join(''));
  }
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

/** Rows in `logs_events` and distinct trace ids (a line's own): both must equal the lines. */
const landed = (dataDir: string, chdbDir: string) =>
  countOnce(dataDir, chdbDir, 'SELECT count() AS rows, uniqExact(trace_id) AS distinct FROM default.logs_events');

/** The agent: file source (json) → disk queue → clickhouse sink on chdb, all defaults but the paths. */
async function agentSide(scratch: string, file: string): Promise<void> {
  const dataDir = path.join(scratch, 'agent');
  const chdbDir = path.join(dataDir, 'clickhouse');
  const watched = path.join(dataDir, 'in');
  fs.mkdirSync(watched, { recursive: true });
  await child(LINES, 'file-clickhouse-agent', async () => {
    await migrate(dataDir, chdbDir);
    const toml = `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.logs]
type = "file"
include = [${JSON.stringify(path.join(watched, '*.log'))}]
format = "json"
host = "${HOST}"
[sinks.ch]
type = "clickhouse"
inputs = ["logs"]
url = ${JSON.stringify(`chdb://${chdbDir}`)}
`;
    const runtime = await startAgent(toml);
    // The source's first scan is done once it has written a checkpoint.
    while (runtime.store.getCheckpoint('logs') === undefined) await new Promise((r) => setTimeout(r, 10));
    return {
      run: async (mark) => {
        fs.linkSync(file, path.join(watched, 'app.log'));
        await delivered(runtime, 'ch', LINES, mark);
      },
      count: async () => {
        const rows = await landed(dataDir, chdbDir);
        await runtime.stop();
        return rows;
      },
    };
  });
}

/** The columns of `logs_events` the sink fills, in the order the bare scripts build their rows. */
const LOG_COLUMNS = ['timestamp', 'service', 'host', 'level', 'trace_id', 'span_id', 'message', 'labels'];

/** A bare script's rows of one insert: `add` a row (LOG_COLUMNS), `insert` them all with a token. */
interface BareRows {
  add(row: unknown[]): void;
  insert(token: string): Promise<void>;
}

/** JSONCompactEachRow through `@clickhouse/client`: one JSON array per row, one body per insert. */
function jsonRows(client: ClickHouseClient): BareRows {
  let rows: string[] = [];
  return {
    add: (row) => rows.push(`${JSON.stringify(row)}\n`),
    insert: async (token) => {
      const result = await client.exec({
        query: `INSERT INTO default.logs_events (${LOG_COLUMNS.join(', ')}) SETTINGS insert_deduplicate = 1, insert_deduplication_token = '${token}' FORMAT JSONCompactEachRow`,
        values: Readable.from([rows.join('')]),
      });
      rows = [];
      result.stream.resume();
      await finished(result.stream);
    },
  };
}

/** RowBinary through a spool file in `spool`, read by the engine with `file()` (bench/rowbinary-file.ts). */
function rowBinaryRows(client: ClickHouseClient, spool: string): BareRows {
  let file = new RowBinaryFile('logs_events', LOG_COLUMNS, spool);
  return {
    add: (row) => file.add(row),
    insert: async (token) => {
      const full = file;
      file = new RowBinaryFile('logs_events', LOG_COLUMNS, spool);
      await full.insert(client, token);
    },
  };
}

/**
 * A bare script: what an application writing its log file to ClickHouse itself would do, with the
 * same mapping as the file source's defaults (known fields to columns, the rest to string labels,
 * plus the path label) and the sink's insert settings, in `format`.
 */
async function bareSide(scratch: string, file: string, format: 'rb' | 'js'): Promise<void> {
  const dataDir = path.join(scratch, 'bare');
  const chdbDir = path.join(dataDir, 'clickhouse');
  const spool = path.join(dataDir, 'spool');
  fs.mkdirSync(spool, { recursive: true });
  await child(LINES, `file-clickhouse-bare-${format}`, async () => {
    await migrate(dataDir, chdbDir);
    const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir });
    const rows = format === 'rb' ? rowBinaryRows(engine.client, spool) : jsonRows(engine.client);
    let inserts = 0;
    const add = (line: string): void => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const labels: Record<string, string> = {};
      for (const k in rec) {
        if (k === 'timestamp' || k === 'level' || k === 'service' || k === 'message' || k === 'trace_id' || k === 'span_id') continue;
        labels[k] = String(rec[k]);
      }
      labels.file = file;
      rows.add([Date.parse(rec.timestamp as string), rec.service, HOST, rec.level, rec.trace_id, rec.span_id, rec.message, labels]);
    };
    return {
      run: async (mark) => {
        const fd = await fs.promises.open(file, 'r');
        const buf = Buffer.allocUnsafe(CHUNK + 65_536);
        let carry = 0;
        let pos = 0;
        let pending = 0;
        let done = 0;
        for (;;) {
          const { bytesRead } = await fd.read(buf, carry, CHUNK, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          const end = carry + bytesRead;
          let start = 0;
          for (let nl = buf.indexOf(10, start); nl >= 0 && nl < end; nl = buf.indexOf(10, start)) {
            add(buf.toString('utf8', start, nl));
            start = nl + 1;
            if (++pending === BATCH_ROWS) {
              await rows.insert(`bare:${inserts++}`);
              mark((done += pending));
              pending = 0;
            }
          }
          carry = end - start;
          buf.copy(buf, 0, start, end);
        }
        await fd.close();
        if (pending > 0) {
          await rows.insert(`bare:${inserts++}`);
          mark((done += pending));
        }
      },
      count: async () => {
        await engine.release();
        return landed(dataDir, chdbDir);
      },
    };
  });
}

const role = process.env.BENCH_ROLE;
if (role === 'agent') await agentSide(process.env.BENCH_DIR as string, process.env.BENCH_FILE as string);
else if (role === 'bare-rb' || role === 'bare-js')
  await bareSide(process.env.BENCH_DIR as string, process.env.BENCH_FILE as string, role === 'bare-rb' ? 'rb' : 'js');
else {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-file-ch-'));
  try {
    const file = path.join(scratch, 'app.log');
    const bytes = writeLogFile(file, LINES);
    console.log(
      `${LINES.toLocaleString('en')} JSON lines of ~${Math.round(bytes / LINES)} B (${(bytes / 1e6).toFixed(0)} MB); inserts of ${BATCH_ROWS.toLocaleString('en')} rows; ${os.cpus().length} CPUs, Node ${process.version}; load ${load()}`,
    );
    const self = fileURLToPath(import.meta.url);
    const bares = (process.env.BARE ?? 'rb,js')
      .split(',')
      .filter((b) => b !== '' && b !== 'none')
      .map((b) => {
        if (b !== 'rb' && b !== 'js') throw new Error(`BARE: unknown bare script ${JSON.stringify(b)} (rb, js or none)`);
        return `bare-${b}`;
      });
    const reports: Record<string, ChildReport[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} (load ${load()})`);
      for (const side of ['agent', ...bares]) {
        const r = await runChild(self, scratch, side, { BENCH_FILE: file });
        show(side, r, LINES, 'lines');
        if (r.landed.rows !== LINES || r.landed.distinct !== LINES)
          throw new Error(`${side}: ${r.landed.rows} rows (${r.landed.distinct} distinct) landed, expected ${LINES}`);
        (reports[side] ??= []).push(r);
      }
    }
    summarize(reports, bares, LINES, 'lines');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
