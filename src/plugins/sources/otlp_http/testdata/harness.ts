/**
 * Test harness for the otlp_http tests: a real runtime with the receiver on a free loopback
 * port feeding a `memory_recorder` sink, and a raw HTTP client that can send anything.
 */
import http from 'node:http';
import https from 'node:https';
import protobuf from 'protobufjs';
import { startPipeline, eventually, type TestContext, received } from '../../../../testing/index.js';
import type { TelemetryEvent } from '../../../../index.js';
import { otlp } from './generated.js';

export { otlp };

let sinks = 0;

export interface Receiver {
  /** `http://127.0.0.1:<port>` (or https). */
  base: string;
  sink: string;
  events(): TelemetryEvent[];
  /** Wait until the sink holds `n` events, then return them. */
  waitFor(n: number): Promise<TelemetryEvent[]>;
}

/**
 * Start `otlp_http` (plus `options` lines in its table) → `memory_recorder` (plus `sinkOptions`
 * lines in the sink's table).
 */
export async function startReceiver(t: TestContext, options = '', sinkOptions = ''): Promise<Receiver> {
  const sink = `rec${++sinks}`;
  const { logs } = await startPipeline(
    t,
    `
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:0"
${options}

[sinks.${sink}]
type = "memory_recorder"
inputs = ["otlp"]
${sinkOptions}
`,
  );
  const line = logs.lines.find((l) => l.component_id === 'otlp' && typeof l.address === 'string');
  if (!line) throw new Error(`the receiver did not log its address: ${JSON.stringify(logs.lines)}`);
  const scheme = line.tls === true ? 'https' : 'http';
  return {
    base: `${scheme}://${String(line.address)}`,
    sink,
    events: () => received(sink),
    async waitFor(n) {
      await eventually(() => received(sink).length >= n, 10_000, `${n} events in ${sink}`);
      return received(sink);
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The upload failed after the answer came (the server hung up on the rest of the body). */
  uploadError?: string;
}

/**
 * Send one request and collect the answer. A server that answers early and closes may make the
 * rest of our upload fail with EPIPE/ECONNRESET: once the answer is in, that is reported in
 * `uploadError` rather than failing the request.
 */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: Buffer | string | Buffer[]; ca?: Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    let answered = false;
    let uploadError: string | undefined;
    const req = lib.request(
      target,
      { method: options.method ?? 'POST', headers: options.headers, agent: false, ...(options.ca ? { ca: options.ca } : {}) },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        // Resolved once the request is closed too, so that a late upload error is seen.
        const ended = new Promise((r) => res.on('end', r));
        const closed = new Promise((r) => req.on('close', r));
        void Promise.all([ended, closed]).then(() =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ...(uploadError ? { uploadError } : {}) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
      else uploadError = err.message;
    });
    const body = options.body;
    if (Array.isArray(body)) {
      // Streamed (chunked) upload, written as the socket drains.
      let i = 0;
      const next = () => {
        while (i < body.length && !req.destroyed) {
          if (!req.write(body[i++])) return void req.once('drain', next);
        }
        req.end();
      };
      next();
    } else req.end(body);
  });
}

/** google.rpc.Status, for reading error bodies (googleapis google/rpc/status.proto). */
const Status = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().add(Status);

/** The `google.rpc.Status` of an error reply, whichever its encoding. */
export function statusOf(reply: Reply): { code: number; message: string } {
  if (String(reply.headers['content-type']).startsWith('application/json')) return JSON.parse(reply.body.toString('utf8')) as { code: number; message: string };
  const s = Status.toObject(Status.decode(reply.body), { defaults: true }) as { code: number; message: string };
  return s;
}

export const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };
export const JSON_TYPE = { 'Content-Type': 'application/json' };

/** Encode an ExportTraceServiceRequest given as a protobufjs plain object (camelCase, hex ids converted). */
export function encodeTraces(request: unknown): Buffer {
  const Req = otlp.collector.trace.v1.ExportTraceServiceRequest;
  return Buffer.from(Req.encode(Req.fromObject(request)).finish());
}

export const hexBytes = (hex: string): Buffer => Buffer.from(hex, 'hex');
