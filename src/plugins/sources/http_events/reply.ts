import type { ServerResponse } from 'node:http';

/** A JSON answer; nothing is sent twice or to a closed connection. */
export function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(data.length) });
  res.end(data);
}

/** The body of every refusal of a whole request: a stable code and what went wrong. */
export const failure = (code: string, message: string) => ({ code, message });
