/**
 * End to end, OTLP/HTTP spans → ClickHouse on the embedded engine (chdb): requests of 512 spans
 * made by the real OpenTelemetry JS SDK and serialized by its protobuf serializer
 * (bench/otlp-spans.ts; one span in 10 carries an event, one in 50 an error status), each request
 * with its own spans, POSTed by this process over 8 keep-alive connections (a request refused with
 * 503 is sent again after 100 ms, as an exporter would) to:
 *
 * - `agent`: a Thermocline agent (`otlp_http` source → disk queue → clickhouse sink on `chdb://`,
 *   default settings), which answers a request once its spans are durable in the queue;
 * - `bare-rb`: a node:http server that decodes each request with the OpenTelemetry project's own
 *   protobufjs code (@opentelemetry/otlp-transformer), builds the rows the sink writes (`spans`, and
 *   `span_events` for the events inside spans; bench/otlp-span-rows.ts) and inserts them in inserts
 *   of the sink's default batch size (100,000 spans), one table after the other, one batch after
 *   the other, in the format the sink uses on chdb: RowBinary spooled to a file that the engine
 *   reads with `INSERT … SELECT * FROM file()` (bench/rowbinary-file.ts: the benches' own RowBinary
 *   writer, the sink's encoder not being public API), with `insert_deduplicate` and a token
 *   in the statement's SETTINGS as the sink writes them. It answers a request once the batch before
 *   the one its spans went into is inserted: one batch in flight, the next one filling.
 *
 * Each side runs in a child process of its own with its own engine (bench/chdb-sides.ts, which also
 * says what each child reports). The clock runs from "go" until every span is in ClickHouse (the
 * agent: its sink has acknowledged every span). The load generator runs in this process, outside
 * both. Landed rows are counted after the run: `count()` and `uniqExact(span_id)` of `spans` must
 * both equal the spans sent, `span_events` must hold one row per event (exactly once), and a
 * checksum of every column of both tables must agree between the sides (the same rows).
 *
 *   [ROUNDS=2] [BENCH_PROFILE=1] npx tsx bench/otlp-clickhouse.ts [spans=300000]
 *
 * No goal is set.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { freePorts } from '../src/core/net.js';
import { connectClickHouse } from '../src/storage/index.js';
import { child, type ChildReport, countOnce, delivered, load, migrate, runChild, show, startAgent, summarize } from './chdb-sides.js';
import { forEachSpan, SPAN_COLUMNS, SPAN_EVENT_COLUMNS, type SpanEventRow, type SpanRow, traceRequestDecoder } from './otlp-span-rows.js';
import { postOtlp } from './otlp-post.js';
import { tracesRequest } from './otlp-spans.js';
import { RowBinaryFile } from './rowbinary-file.js';

const SPANS_PER_REQUEST = 512;
const REQUESTS = Math.ceil(Number(process.argv[2] ?? 300_000) / SPANS_PER_REQUEST);
const SPANS = REQUESTS * SPANS_PER_REQUEST;
/** bench/otlp-spans.ts adds an event to every 10th span of a request. */
const EVENTS = REQUESTS * Math.ceil(SPANS_PER_REQUEST / 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CONNECTIONS = 8;
/** The clickhouse sink's default `batch.max_events`. */
const BATCH_SPANS = 100_000;

/**
 * Rows and distinct span ids in `spans`, rows in `span_events`, and a checksum of every column of
 * each table (a sum of 32-bit row hashes, exact as a double): both sides get the same requests, so
 * equal checksums say they stored the same rows.
 */
const landed = (dataDir: string, chdbDir: string) =>
  countOnce(
    dataDir,
    chdbDir,
    `SELECT count() AS spans, uniqExact(span_id) AS distinct_span_ids,
       sum(cityHash64(trace_id, span_id, parent_span_id, service, name, start_time, end_time, duration_ns, status_code, status_message, toString(mapSort(attr))) % 4294967296) AS spans_checksum,
       (SELECT count() FROM default.span_events) AS span_events,
       (SELECT sum(cityHash64(trace_id, span_id, ts, name, toString(mapSort(attr))) % 4294967296) FROM default.span_events) AS span_events_checksum
     FROM default.spans`,
  );

/** The agent: otlp_http → disk queue → clickhouse sink on chdb, all defaults but the paths and port. */
async function agentSide(scratch: string): Promise<void> {
  const dataDir = path.join(scratch, 'agent');
  const chdbDir = path.join(dataDir, 'clickhouse');
  await child(SPANS, 'otlp-clickhouse-agent', async () => {
    await migrate(dataDir, chdbDir);
    const [port] = await freePorts(1);
    const toml = `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:${port}"
[sinks.ch]
type = "clickhouse"
inputs = ["otlp"]
url = ${JSON.stringify(`chdb://${chdbDir}`)}
`;
    const runtime = await startAgent(toml);
    return {
      detail: String(port),
      run: (mark) => delivered(runtime, 'ch', SPANS, mark),
      count: async () => {
        const rows = await landed(dataDir, chdbDir);
        await runtime.stop();
        return rows;
      },
    };
  });
}

/** One batch's rows, RowBinary, spooled to a file per table as they come. */
class Batch {
  readonly spans: RowBinaryFile;
  readonly events: RowBinaryFile;

  constructor(spool: string) {
    this.spans = new RowBinaryFile('spans', SPAN_COLUMNS, spool);
    this.events = new RowBinaryFile('span_events', SPAN_EVENT_COLUMNS, spool);
  }

  add(span: SpanRow, events: readonly SpanEventRow[]): void {
    this.spans.add(span);
    for (const e of events) this.events.add(e);
  }

  async insert(client: ClickHouseClient, n: number): Promise<void> {
    await this.spans.insert(client, `bare:${n}:spans`);
    await this.events.insert(client, `bare:${n}:span_events`);
  }
}

/** The bare script: decode with the OTel project's protobufjs code, the same rows, RowBinary through a file. */
async function bareSide(scratch: string): Promise<void> {
  const dataDir = path.join(scratch, 'bare');
  const chdbDir = path.join(dataDir, 'clickhouse');
  const spool = path.join(dataDir, 'spool');
  fs.mkdirSync(spool, { recursive: true });
  await child(SPANS, 'otlp-clickhouse-bare-rb', async () => {
    await migrate(dataDir, chdbDir);
    const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir });
    const decode = traceRequestDecoder();
    let batch = new Batch(spool);
    let inserted = 0;
    let received = 0;
    let batches = 0;
    let mark: (items: number) => void = () => {};
    let finish: () => void = () => {};
    let fail: (e: unknown) => void = () => {};
    const finished = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
    /** The batch cut last, inserted after the one before it; a request waits for the one before its own. */
    let chain: Promise<void> = Promise.resolve();
    let before: Promise<void> = Promise.resolve();
    const cut = () => {
      const full = batch;
      const n = batches++;
      batch = new Batch(spool);
      before = chain;
      chain = chain.then(async () => {
        await full.insert(engine.client, n);
        mark((inserted += full.spans.rows));
      });
      chain.catch(fail);
    };
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        forEachSpan(decode(Buffer.concat(chunks)), (span, events) => {
          batch.add(span, events);
          received++;
          if (batch.spans.rows === BATCH_SPANS || received === SPANS) cut();
        });
        const wait = batch.spans.rows === 0 ? before : chain;
        void wait.then(() => res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end());
        if (received === SPANS) void chain.then(finish);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      detail: String((server.address() as { port: number }).port),
      run: async (m) => {
        mark = m;
        await finished;
      },
      count: async () => {
        server.close();
        await engine.release();
        return landed(dataDir, chdbDir);
      },
    };
  });
}

const role = process.env.BENCH_ROLE;
if (role === 'agent') await agentSide(process.env.BENCH_DIR as string);
else if (role === 'bare-rb') await bareSide(process.env.BENCH_DIR as string);
else {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-otlp-ch-'));
  try {
    // A request per call: each carries spans (and ids) of its own, so that distinct span ids can be counted.
    const bodies = Array.from({ length: REQUESTS }, () => tracesRequest(SPANS_PER_REQUEST));
    const bytes = bodies.reduce((n, b) => n + b.length, 0);
    console.log(
      `${SPANS.toLocaleString('en')} spans and ${EVENTS.toLocaleString('en')} span events in ${REQUESTS} OTLP/HTTP requests of ${SPANS_PER_REQUEST} spans (~${Math.round(bytes / REQUESTS / 1000)} KB of protobuf each), ${CONNECTIONS} connections; inserts of ${BATCH_SPANS.toLocaleString('en')} spans; ${os.cpus().length} CPUs, Node ${process.version}; load ${load()}`,
    );
    const self = fileURLToPath(import.meta.url);
    const sides = ['agent', 'bare-rb'];
    const reports: Record<string, ChildReport[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} (load ${load()})`);
      for (const side of sides) {
        const r = await runChild(self, scratch, side, {}, (port) => postOtlp(Number(port), '/v1/traces', bodies, CONNECTIONS));
        show(side, r, SPANS, 'spans');
        const { spans, distinct_span_ids: distinct, span_events: events } = r.landed;
        if (spans !== SPANS || distinct !== SPANS || events !== EVENTS)
          throw new Error(`${side}: ${spans} spans (${distinct} distinct span ids) and ${events} span events landed, expected ${SPANS} and ${EVENTS}`);
        (reports[side] ??= []).push(r);
      }
      const [a, b] = sides.map((side) => reports[side]?.at(-1)?.landed);
      if (a?.spans_checksum !== b?.spans_checksum || a?.span_events_checksum !== b?.span_events_checksum)
        throw new Error('the agent and the bare script stored different rows (the checksums differ)');
      console.log('  the same rows on both sides (checksums of every column agree)');
    }
    summarize(reports, ['bare-rb'], SPANS, 'spans');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
