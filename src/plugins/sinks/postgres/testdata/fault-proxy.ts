/**
 * A TCP proxy in front of a real PostgreSQL that plays a server ending sessions: it answers a
 * chosen frontend message with a FATAL ErrorResponse (PostgreSQL protocol, "Message Formats":
 * 'E', int32 length, fields `S`/`V` severity, `C` SQLSTATE, `M` message, then a zero byte) and
 * closes the connection, as PostgreSQL does for an extension that must be preloaded, an
 * administrator's pg_terminate_backend or a shutdown. Everything else is passed through as is.
 */
import net from 'node:net';
import type { TestContext } from '../../../../testing/index.js';

export interface Fault {
  /** 'connect': the startup message; 'query': a simple query or Parse whose SQL matches `sql`. */
  readonly at: 'connect' | 'query';
  readonly sql?: RegExp;
  /** How many times it fires before the proxy passes everything through again. */
  times: number;
}

export interface FaultProxy {
  readonly url: string;
  /** Fault injections still to fire, and those that fired. */
  inject(fault: Fault): void;
  readonly fired: Array<{ at: Fault['at']; sql?: string }>;
}

export function fatalErrorResponse(message: string, code = '57P01'): Buffer {
  const fields = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', message), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

function field(type: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(value, 'utf8'), Buffer.from([0])]);
}

/** The SQL text of a frontend 'Q' (query) or 'P' (parse) message. */
function sqlOf(type: string, body: Buffer): string | undefined {
  if (type === 'Q') return body.subarray(0, body.indexOf(0)).toString('utf8');
  if (type === 'P') {
    const afterName = body.indexOf(0) + 1;
    return body.subarray(afterName, body.indexOf(0, afterName)).toString('utf8');
  }
  return undefined;
}

export async function faultProxy(t: TestContext, targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const faults: Fault[] = [];
  const fired: FaultProxy['fired'] = [];
  const sockets = new Set<net.Socket>();
  const take = (at: Fault['at'], sql?: string) => {
    const fault = faults.find((f) => f.times > 0 && f.at === at && (at === 'connect' || (sql !== undefined && f.sql?.test(sql))));
    if (!fault) return false;
    fault.times--;
    fired.push({ at, sql });
    return true;
  };
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.on('data', (chunk) => client.write(chunk));
    let pending = Buffer.alloc(0);
    let started = false;
    const die = (message: string) => {
      client.end(fatalErrorResponse(message));
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (!started) {
          if (pending.length < 4) return;
          const len = pending.readInt32BE(0);
          if (pending.length < len) return;
          started = true;
          if (take('connect')) return die('the database system is shutting down');
          upstream.write(pending.subarray(0, len));
          pending = pending.subarray(len);
          continue;
        }
        if (pending.length < 5) return;
        const len = pending.readInt32BE(1);
        if (pending.length < len + 1) return;
        const type = String.fromCharCode(pending[0] as number);
        const sql = sqlOf(type, pending.subarray(5, len + 1));
        if (sql !== undefined && take('query', sql)) return die('terminating connection due to administrator command');
        upstream.write(pending.subarray(0, len + 1));
        pending = pending.subarray(len + 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(targetUrl);
  url.port = String(port);
  return { url: url.toString(), inject: (fault) => faults.push(fault), fired };
}
