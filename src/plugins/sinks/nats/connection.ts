import fs from 'node:fs';
import type { ConnectionOptions, NatsConnection } from 'nats';
import { duration, RetryableError, ThermoclineError, z, type ComponentContext, type ErrorCode, type PluginIssue } from '../../../index.js';
import { NATS_ERRORS } from './errors.js';

/**
 * Connection options shared by the `nats` sink and source: one schema, so both sides of the bus
 * are configured the same way (docs/scaling.md).
 */
export const natsConnectionOptions = {
  servers: z
    .array(z.string().min(1))
    .min(1)
    .describe('NATS server URLs, e.g. ["nats://nats-1:4222", "nats://nats-2:4222"]. The client connects to any of them and reconnects to any server of the cluster it learns about.'),
  name: z.string().min(1).optional().describe('Client name shown by the server (`nats server report connections`); defaults to `thermocline-<component id>`.'),
  auth: z
    .strictObject({
      user: z.string().min(1).optional().describe('User name; write it as "${NATS_USER}".'),
      password: z.string().min(1).optional().describe('Password for `user`; write it as "${NATS_PASSWORD}" to keep it out of the file.'),
      token: z.string().min(1).optional().describe('Authentication token; write it as "${NATS_TOKEN}".'),
      creds_file: z.string().min(1).optional().describe('Path of a `.creds` file (JWT and NKey seed) for decentralised auth.'),
    })
    .optional()
    .describe('Credentials: `user` with `password`, or `token`, or `creds_file` (exactly one way).'),
  tls: z
    .strictObject({
      ca_file: z.string().min(1).optional().describe("PEM file with the CA certificate(s) that signed the servers' certificates."),
      cert_file: z.string().min(1).optional().describe('PEM client certificate, for servers that verify clients (`verify: true`).'),
      key_file: z.string().min(1).optional().describe('PEM private key of `cert_file`.'),
    })
    .optional()
    .describe('TLS to the servers. Given (even empty), the client requires TLS.'),
  connect_timeout: duration().prefault('5s').describe('How long one connection attempt may take, e.g. "5s".'),
  request_timeout: duration()
    .prefault('10s')
    .describe('How long to wait for a JetStream answer (a publish acknowledgement, a fetch, a stream lookup) before the operation counts as failed and is retried.'),
};

/** The connection part of a nats component's validated options. */
export type NatsConnectionConfig = z.output<ReturnType<typeof z.strictObject<typeof natsConnectionOptions>>>;

/** The checks the schema cannot express; paths relative to the component. */
export function natsConnectionIssues(config: NatsConnectionConfig): PluginIssue[] {
  const issues: PluginIssue[] = [];
  const a = config.auth;
  if (a) {
    const ways = [a.user !== undefined || a.password !== undefined, a.token !== undefined, a.creds_file !== undefined].filter(Boolean).length;
    if (ways !== 1) issues.push({ path: ['auth'], message: 'give exactly one of `user` + `password`, `token` or `creds_file`' });
    if ((a.user === undefined) !== (a.password === undefined)) issues.push({ path: ['auth'], message: '`user` and `password` go together' });
  }
  if (config.tls && (config.tls.cert_file === undefined) !== (config.tls.key_file === undefined)) {
    issues.push({ path: ['tls'], message: '`cert_file` and `key_file` go together' });
  }
  return issues;
}

/** A credentials or TLS file; unreadable is retryable (the file may be deployed after the agent). */
function readFile(path: string, what: string, code: ErrorCode): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new RetryableError(`cannot read ${what} ${path}: ${(err as Error).message}`, { code, cause: err });
  }
}

/** A connection error as a classified, retryable error with its catalogue code (docs/errors.md). */
export function natsConnectionError(err: unknown, servers: readonly string[]): Error {
  if (err instanceof ThermoclineError) return err;
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message ?? String(err);
  if (/AUTHORIZATION_VIOLATION|AUTHENTICATION|authorization/i.test(`${code} ${message}`)) {
    return new RetryableError(`NATS refused the credentials (${message}); check auth`, { code: NATS_ERRORS.TC_NATS_AUTH, cause: err });
  }
  if (/tls|certificate|ssl/i.test(message)) return new RetryableError(`TLS to NATS failed: ${message}`, { code: NATS_ERRORS.TC_NATS_TLS, cause: err });
  const detail = code && code !== message ? `${code} ${message}` : message;
  return new RetryableError(`cannot reach NATS at ${servers.join(', ')}: ${detail}`, { code: NATS_ERRORS.TC_NATS_UNREACHABLE, cause: err });
}

/** A client connection that says whether it is connected right now. */
export type NatsClient = NatsConnection & { readonly connected: boolean };

let client: Promise<typeof import('nats')> | undefined;

/**
 * The NATS client library, loaded at the first connection rather than at import: the public API
 * re-exports this module, so every agent imports it, and the client costs about 11 MiB of
 * resident memory in an agent that never speaks to NATS (docs/performance.md#steady-memory).
 * Code that needs the library's values (not only its types) takes them from here.
 */
export function loadNats(): Promise<typeof import('nats')> {
  client ??= import('nats');
  return client;
}

/** A JetStream duration (nanoseconds) from milliseconds, as the client's `nanos`, without loading it. */
export function natsNanos(ms: number): number {
  return ms * 1_000_000;
}

/**
 * Connect to any of `servers`, reconnecting forever to any server of the cluster (the client
 * learns the others from the INFO it receives): a sink keeps its data in the disk queue
 * meanwhile, a source waits (docs/scaling.md). `onClosed` is called when the connection is gone
 * for good, so the caller makes a new one at its next use. Secrets stay in memory, never in a
 * log line.
 */
export async function openNatsConnection(config: NatsConnectionConfig, ctx: Pick<ComponentContext, 'id' | 'logger'>, onClosed: () => void): Promise<NatsClient> {
  const nats = await loadNats();
  const options: ConnectionOptions = {
    servers: [...config.servers],
    name: config.name ?? `thermocline-${ctx.id}`,
    timeout: config.connect_timeout,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    waitOnFirstConnect: false,
  };
  const a = config.auth;
  if (a?.user !== undefined) {
    options.user = a.user;
    options.pass = a.password;
  } else if (a?.token !== undefined) {
    options.token = a.token;
  } else if (a?.creds_file !== undefined) {
    options.authenticator = nats.credsAuthenticator(new TextEncoder().encode(readFile(a.creds_file, 'auth.creds_file', NATS_ERRORS.TC_NATS_AUTH)));
  }
  if (config.tls) {
    options.tls = {
      ...(config.tls.ca_file ? { ca: readFile(config.tls.ca_file, 'tls.ca_file', NATS_ERRORS.TC_NATS_TLS) } : {}),
      ...(config.tls.cert_file ? { cert: readFile(config.tls.cert_file, 'tls.cert_file', NATS_ERRORS.TC_NATS_TLS) } : {}),
      ...(config.tls.key_file ? { key: readFile(config.tls.key_file, 'tls.key_file', NATS_ERRORS.TC_NATS_TLS) } : {}),
    };
  }
  let nc: NatsConnection;
  try {
    nc = await nats.connect(options);
  } catch (err) {
    throw natsConnectionError(err, config.servers);
  }
  // The client buffers publishes made while it reconnects, without a bound: callers check
  // `connected` and fail fast instead, so an outage keeps the data in the disk queue.
  const state = { connected: true };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === nats.Events.Disconnect) {
        state.connected = false;
        ctx.logger.warn({ server: s.data }, 'disconnected from a NATS server; reconnecting');
      } else if (s.type === nats.Events.Reconnect) {
        state.connected = true;
        ctx.logger.info({ server: s.data }, 'reconnected to NATS');
      } else if (s.type === nats.Events.Error) {
        ctx.logger.warn({ error: String(s.data) }, 'NATS connection error');
      }
    }
  })().catch(() => undefined);
  void nc.closed().then((err) => {
    if (err) ctx.logger.warn({ error: err.message }, 'NATS connection closed');
    state.connected = false;
    onClosed();
  });
  return Object.defineProperty(nc, 'connected', { get: () => state.connected }) as NatsClient;
}
