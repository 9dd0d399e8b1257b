/**
 * A stand-in for a ClickHouse server's HTTP interface, for what the embedded engine cannot show: the
 * request as it goes on the wire (gzip body, SETTINGS, token) and failures that only exist over a
 * network (a proxy's 502 page, an overloaded server, a refused connection). It answers DESCRIBE with
 * the seed tables' columns, records INSERTs, and fails them as scripted. The real server is covered
 * by running the whole suite with CH_URL.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

export interface RecordedInsert {
  readonly query: string;
  readonly contentEncoding: string | undefined;
  /** The body as sent (before any decompression). */
  readonly wireBytes: number;
  /** The rows, decompressed, as text (JSON formats). */
  readonly body: string;
  /** The rows, decompressed, as bytes (RowBinary). */
  readonly raw: Buffer;
}

/** How the next INSERT is answered: a status and body, or a reset connection (TCP RST). */
export type Reply = { status: number; body: string; exceptionCode?: number } | { reset: true };

/** The columns of the seed tables (migrations/clickhouse) and of the README's metrics_raw and events_raw. */
export const SEED_COLUMNS: Record<string, Array<[string, string]>> = {
  spans: [
    ['trace_id', 'String'],
    ['span_id', 'String'],
    ['parent_span_id', 'String'],
    ['service', 'LowCardinality(String)'],
    ['name', 'LowCardinality(String)'],
    ['start_time', "DateTime64(6, 'UTC')"],
    ['end_time', "DateTime64(6, 'UTC')"],
    ['duration_ns', 'UInt64'],
    ['status_code', 'LowCardinality(String)'],
    ['status_message', 'String'],
    ['attr', 'Map(String, String)'],
  ],
  span_events: [
    ['trace_id', 'String'],
    ['span_id', 'String'],
    ['ts', "DateTime64(6, 'UTC')"],
    ['name', 'LowCardinality(String)'],
    ['attr', 'Map(String, String)'],
  ],
  metrics_raw: [
    ['time', "DateTime64(3, 'UTC')"],
    ['metric_name', 'LowCardinality(String)'],
    ['type', 'LowCardinality(String)'],
    ['labels', 'Map(String, String)'],
    ['value', 'Float64'],
    ['count', 'UInt64'],
    ['sum', 'Float64'],
    ['buckets', 'Map(String, UInt64)'],
  ],
  events_raw: [
    ['ts', "DateTime64(3, 'UTC')"],
    ['type', 'LowCardinality(String)'],
    ['service', 'LowCardinality(String)'],
    ['severity', 'LowCardinality(String)'],
    ['payload', 'String'],
  ],
  logs_events: [
    ['timestamp', "DateTime64(3, 'UTC')"],
    ['service', 'LowCardinality(String)'],
    ['host', 'LowCardinality(String)'],
    ['level', 'LowCardinality(String)'],
    ['trace_id', 'String'],
    ['span_id', 'String'],
    ['message', 'String'],
    ['labels', 'Map(String, String)'],
  ],
};

export function clickHouseError(code: number, type: string, message: string): Reply {
  return { status: 500, exceptionCode: code, body: `Code: ${code}. DB::Exception: ${message}. (${type}) (version 25.8.1.1 (official build))\n` };
}

export class FakeClickHouse {
  readonly inserts: RecordedInsert[] = [];
  /** The INSERTs answered 200: what a real server would have stored. */
  readonly accepted: RecordedInsert[] = [];
  /** Replies for the next INSERTs, in order; an empty script answers 200. */
  readonly script: Reply[] = [];
  /**
   * An INSERT whose body holds this text (strings are their UTF-8 bytes in every format) fails as
   * ClickHouse fails a row it cannot parse: a bad row that isolation has to find.
   */
  poison: string | undefined;
  /** Overrides SEED_COLUMNS per table (a user's table with other types). */
  readonly columns: Record<string, Array<[string, string]>> = {};
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://default:secret@127.0.0.1:${(this.server.address() as AddressInfo).port}/telemetry`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const inUrl = url.searchParams.get('query');
    const encoding = req.headers['content-encoding'];
    const bytes = encoding === 'gzip' ? zlib.gunzipSync(raw) : raw;
    const body = bytes.toString('utf8');
    const query = inUrl ?? body;
    const describe = /^DESCRIBE TABLE \w+\.(\w+)/.exec(query);
    if (describe) {
      const columns = this.columns[describe[1] as string] ?? SEED_COLUMNS[describe[1] as string] ?? [];
      res.writeHead(200, { 'content-type': 'text/plain' }).end(columns.map(([name, type]) => `${JSON.stringify({ name, type })}\n`).join(''));
      return;
    }
    if (query.startsWith('INSERT')) {
      const insert = { query, contentEncoding: encoding, wireBytes: raw.length, body, raw: bytes };
      this.inserts.push(insert);
      const poisoned = this.poison !== undefined && bytes.includes(this.poison);
      const reply = poisoned ? clickHouseError(27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'Cannot parse input: poisoned row') : this.script.shift();
      if (reply && 'reset' in reply) {
        req.socket.resetAndDestroy();
        return;
      }
      if (reply) {
        res.writeHead(reply.status, reply.exceptionCode === undefined ? {} : { 'x-clickhouse-exception-code': String(reply.exceptionCode) }).end(reply.body);
        return;
      }
      this.accepted.push(insert);
    }
    res.writeHead(200).end();
  }
}
