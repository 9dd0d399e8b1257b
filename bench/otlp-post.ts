/** The load generator of the OTLP/HTTP end-to-end benches (bench/otlp-clickhouse.ts). */
import http from 'node:http';

const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * POSTs every body once to `path` over `connections` keep-alive connections, as an OTLP/HTTP
 * exporter does: a request answered with a retryable status (429, 502, 503, 504: the OTLP/HTTP
 * specification's; the agent answers 503 while its queue is full) is sent again after 100 ms, any
 * other answer but 200 fails the run.
 */
export async function postOtlp(port: number, path: string, bodies: readonly Buffer[], connections: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  const one = (body: Buffer) =>
    new Promise<boolean>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve(true) : RETRYABLE.has(res.statusCode ?? 0) ? resolve(false) : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as Buffer;
        while (!(await one(body))) await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  agent.destroy();
}
