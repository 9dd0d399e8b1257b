/**
 * What bench/agent-ceiling.ts needs of ClickHouse's HTTP interface without a ClickHouse: a server
 * that answers what the clickhouse sink asks before inserting and discards INSERT bodies unread,
 * the seed tables' column types, the two insert formats a bare script encodes itself
 * (JSONCompactEachRow and RowBinary, https://clickhouse.com/docs/en/interfaces/formats#rowbinary;
 * the chdb benches' bare scripts write RowBinary with it too, bench/rowbinary-file.ts),
 * and a row counter for the verification pass.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Column → type of the seed tables, read from their migrations (migrations/clickhouse): one
 * `name  Type,` line per column between `CREATE TABLE … (` and `) ENGINE`.
 */
export const SEED_TYPES: Readonly<Record<string, Readonly<Record<string, string>>>> = (() => {
  const dir = fileURLToPath(new URL('../migrations/clickhouse/', import.meta.url));
  const out: Record<string, Record<string, string>> = {};
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
    const sql = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of sql.matchAll(/CREATE TABLE IF NOT EXISTS \{\{database\}\}\.(\w+) \(\n([\s\S]*?)\n\)\s*ENGINE/g)) {
      const columns: Record<string, string> = {};
      for (const line of (m[2] as string).split('\n')) {
        const c = /^\s*(\w+)\s+(.*?),?\s*(--.*)?$/.exec(line);
        if (c) columns[c[1] as string] = c[2] as string;
      }
      out[m[1] as string] = columns;
    }
  }
  return out;
})();

/** An INSERT as the server saw it. */
export interface Insert {
  readonly table: string;
  readonly query: string;
  readonly format: string;
  readonly columns: readonly string[];
  readonly wireBytes: number;
  /** The body as sent, kept only while `keepBodies` is on (for the verification pass). */
  readonly body: Buffer[] | undefined;
  /** performance.now() when the answer was sent. */
  readonly answeredAt: number;
}

const INSERT_RE = /^INSERT INTO \w+\.(\w+) \(([^)]*)\).*FORMAT (\w+)\s*$/s;

export function parseInsert(query: string): { table: string; columns: string[]; format: string } | undefined {
  const m = INSERT_RE.exec(query);
  return m ? { table: m[1] as string, columns: (m[2] as string).split(',').map((c) => c.trim()), format: m[3] as string } : undefined;
}

/**
 * Answers the ping (`SELECT 1`), `DESCRIBE TABLE` with the seed columns and any other statement
 * with 200; reads INSERT bodies to the end without parsing them and answers 200.
 */
export class DiscardServer {
  inserts: Insert[] = [];
  keepBodies = true;
  private readonly server = http.createServer({ keepAlive: true }, (req, res) => this.handle(req, res));

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Forgets what was recorded; returns it. */
  take(): Insert[] {
    const taken = this.inserts;
    this.inserts = [];
    return taken;
  }

  lastAnswer(): number {
    return this.inserts.reduce((t, i) => Math.max(t, i.answeredAt), 0);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const inUrl = new URL(req.url ?? '/', 'http://x').searchParams.get('query');
    const insert = inUrl === null ? undefined : parseInsert(inUrl);
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (!insert || this.keepBodies) chunks.push(c);
    });
    req.on('end', () => {
      if (insert) {
        res.writeHead(200, { 'content-length': '0' }).end();
        this.inserts.push({ ...insert, query: inUrl as string, wireBytes: bytes, body: this.keepBodies ? chunks : undefined, answeredAt: performance.now() });
        return;
      }
      const query = inUrl ?? Buffer.concat(chunks).toString('utf8');
      const describe = /^DESCRIBE TABLE \w+\.(\w+)/.exec(query);
      const text = describe
        ? Object.entries(SEED_TYPES[describe[1] as string] ?? {})
            .map(([name, type]) => `${JSON.stringify({ name, type })}\n`)
            .join('')
        : /^SELECT 1\b/.test(query)
          ? '1\n'
          : '';
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(text)) }).end(text);
    });
  }
}

const AUTH = `Basic ${Buffer.from('default:x').toString('base64')}`;

/** POSTs a gzipped INSERT body to the server at `port` as the clickhouse sink does; rejects unless answered 200. */
export function postInsert(port: number, agent: http.Agent, query: string, body: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/?query=${encodeURIComponent(query)}`,
        agent,
        headers: { Authorization: AUTH, 'Content-Encoding': 'gzip', 'Content-Length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`INSERT answered ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A growable byte buffer for RowBinary; `take()` the bytes, set `pos = 0` to reuse it. */
export class RowBinaryWriter {
  buf = Buffer.allocUnsafe(1 << 20);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  string(s: string): void {
    // Most strings are short: write them after a one-byte length and fix it up when it fits.
    this.room(s.length * 3 + 10);
    if (s.length < 43) {
      const n = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A non-negative safe integer as 8 bytes little-endian (Int64 and UInt64 alike). */
  u64(v: number): void {
    this.room(8);
    this.buf.writeUInt32LE(v % 4294967296, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 4294967296), this.pos + 4);
    this.pos += 8;
  }

  map(m: Readonly<Record<string, string>>): void {
    const keys = Object.keys(m);
    this.varint(keys.length);
    for (const k of keys) {
      this.string(k);
      this.string(m[k] as string);
    }
  }

  take(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

type Kind = 'string' | 'u64' | 'map';

function kindOf(type: string): Kind {
  if (type.startsWith('Map(')) return 'map';
  if (type.startsWith('DateTime64') || type.startsWith('UInt64') || type.startsWith('Int64')) return 'u64';
  if (/^(LowCardinality\()?String\)?$/.test(type)) return 'string';
  throw new Error(`no RowBinary encoding here for ${type}`);
}

/** Rows (values in column order: times as integer ticks, maps as string records) in `format`. */
export function encodeRows(format: string, table: string, columns: readonly string[], rows: readonly unknown[][]): Buffer | string {
  if (format === 'JSONCompactEachRow') {
    const lines = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) lines[i] = `${JSON.stringify(rows[i])}\n`;
    return lines.join('');
  }
  if (format !== 'RowBinary') throw new Error(`the bare script does not encode ${format}`);
  const write = rowBinaryRow(table, columns);
  const w = new RowBinaryWriter();
  for (const row of rows) write(w, row);
  return w.take();
}

/** Writes a row of `columns` of the seed table `table` (values as for encodeRows) as RowBinary. */
export function rowBinaryRow(table: string, columns: readonly string[]): (w: RowBinaryWriter, row: readonly unknown[]) => void {
  const kinds = columns.map((c) => kindOf(SEED_TYPES[table]?.[c] ?? ''));
  return (w, row) => {
    for (let c = 0; c < kinds.length; c++) {
      const v = row[c];
      const k = kinds[c];
      if (k === 'string') w.string(v as string);
      else if (k === 'u64') w.u64(v as number);
      else w.map(v as Record<string, string>);
    }
  };
}

/** Rows in an (uncompressed) insert body: the verification pass, outside any timing. */
export function countRows(format: string, table: string, columns: readonly string[], body: Buffer): number {
  if (format === 'JSONCompactEachRow') {
    let n = 0;
    for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) n++;
    return n;
  }
  if (format !== 'RowBinary') throw new Error(`cannot count rows of ${format}`);
  const kinds = columns.map((c) => kindOf(SEED_TYPES[table]?.[c] ?? ''));
  let pos = 0;
  const varint = () => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (pos >= body.length) throw new Error(`RowBinary body of ${table} ends inside a length`);
      const b = body[pos++] as number;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
  };
  /** Skips a string. Not `pos += varint()`: that adds to the position read before the length. */
  const skipString = () => {
    const n = varint();
    pos += n;
  };
  let rows = 0;
  while (pos < body.length) {
    for (const k of kinds) {
      if (k === 'u64') pos += 8;
      else if (k === 'string') skipString();
      else for (let n = varint() * 2; n > 0; n--) skipString();
    }
    rows++;
  }
  if (pos !== body.length) throw new Error(`RowBinary body of ${table} ends inside a row`);
  return rows;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/**
 * The top functions by self time of a V8 .cpuprofile, and the garbage collector's share, counting
 * only samples between `from` and `to` (µs of the monotonic clock, as `process.hrtime`; V8 stamps
 * its samples with the same clock).
 */
export function profileSummary(file: string, from = 0, to = Infinity, top = 12): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i] as number);
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (!node || at < from || at > to) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') {
      idle += functionName === '(idle)' ? dt : 0;
      if (functionName === '(idle)') continue;
    }
    total += dt;
    const where = url ? `${url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const lines = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)} %`;
  return [
    `busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s; garbage collector ${pct(self.get('(garbage collector)') ?? 0)} of busy`,
    ...lines.map(([k, us]) => `  ${pct(us).padStart(7)}  ${k}`),
  ].join('\n');
}
