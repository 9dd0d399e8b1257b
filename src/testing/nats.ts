/**
 * Real `nats-server` processes for tests of the nats sink and source (docs/scaling.md): one
 * JetStream server, or a cluster of them with routes between them, each on free ports of
 * 127.0.0.1 with its storage in a temporary directory, killed at teardown. Debian's
 * `nats-server` package installs the binary in /usr/sbin; CI installs it (.ci/run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connect } from 'nats';
import { freePorts } from '../core/net.js';
import { tempDir, type TestContext } from './pipeline.js';

/** The nats-server binary: `THERMOCLINE_NATS_SERVER`, else the first found in /usr/sbin, /usr/bin and `PATH`. */
export function natsServerBinary(): string | undefined {
  if (process.env.THERMOCLINE_NATS_SERVER) return process.env.THERMOCLINE_NATS_SERVER;
  const dirs = ['/usr/sbin', '/usr/bin', ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean)];
  return dirs.map((d) => path.join(d, 'nats-server')).find((p) => fs.existsSync(p));
}

/** Why NATS tests cannot run here, or undefined when they can: a reason for `t.skip`. */
export function natsServerMissing(): string | undefined {
  return natsServerBinary() ? undefined : 'nats-server is not installed (apt-get install nats-server, or set THERMOCLINE_NATS_SERVER)';
}

export interface NatsNode {
  readonly name: string;
  readonly port: number;
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  /** The nats-server process, while it runs. */
  process: ChildProcess | undefined;
  /** What the server printed (all its runs). */
  output(): string;
  /** Kill the process (SIGKILL by default) and wait for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same ports and storage directory. */
  start(): Promise<void>;
}

function waitReady(child: ChildProcess, out: () => string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (/Server is ready/.test(out())) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(timer);
        reject(new Error(`${what} exited before it was ready:\n${out().slice(-2000)}`));
      }
    }, 20);
  });
}

function node(name: string, port: number, args: string[]): NatsNode {
  const binary = natsServerBinary();
  if (!binary) throw new Error(natsServerMissing());
  let log = '';
  const n: NatsNode = {
    name,
    port,
    url: `nats://127.0.0.1:${port}`,
    process: undefined,
    output: () => log,
    async kill(signal = 'SIGKILL') {
      const p = n.process;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const done = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await done;
      n.process = undefined;
    },
    async start() {
      const before = log.length;
      const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-n', name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      // A spawn failure (no binary) is reported by waitReady through the exit it causes.
      child.on('error', (err) => (log += `spawn failed: ${err.message}\n`));
      n.process = child;
      await waitReady(child, () => log.slice(before), `nats-server ${name}`);
    },
  };
  return n;
}

/** One JetStream server; `args` are extra nats-server flags (`['--user', 'u', '--pass', 'p']`). */
export async function startNats(t: TestContext, options: { args?: string[] } = {}): Promise<NatsNode> {
  const dir = tempDir(t, 'thermocline-nats-');
  const [port] = await freePorts(1);
  const n = node('n1', port as number, ['-js', '-sd', dir, ...(options.args ?? [])]);
  t.teardown(() => n.kill());
  await n.start();
  return n;
}

/**
 * A JetStream cluster of `size` servers with routes between them, so streams can have `size`
 * replicas. Resolves once every node is ready; the JetStream meta leader may need a few more
 * seconds (callers retry their first stream creation).
 */
export async function startNatsCluster(t: TestContext, size = 3): Promise<NatsNode[]> {
  const ports = await freePorts(size * 2);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size);
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const nodes = clientPorts.map((port, i) => {
    const dir = tempDir(t, `thermocline-nats-${i + 1}-`);
    return node(`n${i + 1}`, port, ['-js', '-sd', path.join(dir, 'js'), '--cluster_name', 'thermocline', '--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--routes', routes]);
  });
  t.teardown(() => Promise.all(nodes.map((n) => n.kill())));
  await Promise.all(nodes.map((n) => n.start()));
  return nodes;
}

/** Create a stream with the server's defaults: what a source test reads when no sink made it. */
export async function createNatsStream(url: string, name: string, subjects: string[]): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    await (await nc.jetstreamManager()).streams.add({ name, subjects });
  } finally {
    await nc.close();
  }
}
