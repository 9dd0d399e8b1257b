import { parseArgs } from 'node:util';
import type { Subcommand } from './commands.js';
import { apiTarget, unreachable } from './api-client.js';
import { parseDurationMs } from '../core/config/units.js';

interface ComponentRow {
  id: string;
  kind: string;
  type: string;
  state: string;
  error?: string;
  received_events: number;
  sent_events: number;
  dropped_events: Record<string, number>;
  errors: Record<string, number>;
  queue?: { events: number; bytes: number; max_bytes: number; oldest_age_secs: number };
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(n < 10 && n % 1 !== 0 ? 1 : 0));
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** One screen of the per-component view, with rates computed from the previous sample. */
export function renderTop(rows: ComponentRow[], previous: Map<string, ComponentRow>, seconds: number): string {
  const header = ['COMPONENT', 'KIND', 'TYPE', 'STATE', 'IN/s', 'OUT/s', 'DROPPED', 'ERRORS', 'QUEUE', 'QUEUE %', 'OLDEST'];
  const lines = [header];
  for (const r of rows) {
    const p = previous.get(`${r.kind}:${r.id}`);
    const rate = (now: number, before: number | undefined) => (p && seconds > 0 ? fmt(Math.max(0, now - (before ?? 0)) / seconds) : '-');
    lines.push([
      r.id,
      r.kind,
      r.type,
      r.state,
      rate(r.received_events, p?.received_events),
      rate(r.sent_events, p?.sent_events),
      fmt(sum(r.dropped_events)),
      fmt(sum(r.errors)),
      r.queue ? fmt(r.queue.events) : '',
      r.queue ? `${((r.queue.bytes / r.queue.max_bytes) * 100).toFixed(1)}` : '',
      r.queue ? `${r.queue.oldest_age_secs.toFixed(1)}s` : '',
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] as string).length)));
  const out = lines.map((l) => l.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd());
  for (const r of rows) if (r.error) out.push(`${r.id}: ${r.error}`);
  return `${out.join('\n')}\n`;
}

/** `thermocline top`: per-component rates and queue depth, refreshed. */
export const topCommand: Subcommand = {
  name: 'top',
  usage: 'top [--interval 2s] [--once] [--api HOST:PORT | -c FILE]',
  summary: 'per-component rates, errors and queue depth, refreshed',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { interval: { type: 'string' }, once: { type: 'boolean' }, api: { type: 'string' }, config: { type: 'string', short: 'c' } },
      strict: true,
    });
    const target = await apiTarget(values.api, values.config);
    if (!target) return 78;
    const { base, headers } = target;
    const intervalMs = parseDurationMs(values.interval ?? '2s') ?? 2000;
    let previous = new Map<string, ComponentRow>();
    let last = 0;
    for (;;) {
      let res: Response;
      try {
        res = await fetch(new URL('/components', base), { headers });
      } catch (err) {
        console.error(unreachable(base, err));
        return 1;
      }
      if (!res.ok) {
        // 401 and 421 explain themselves (TC_API_UNAUTHORIZED, TC_API_HOST_REFUSED).
        console.error(`error: ${res.status} ${(await res.text()).trim()}`);
        return 1;
      }
      const rows = (await res.json()) as ComponentRow[];
      const now = Date.now();
      const screen = renderTop(rows, previous, last ? (now - last) / 1000 : 0);
      if (values.once) {
        process.stdout.write(screen);
        return 0;
      }
      process.stdout.write(`\x1b[2J\x1b[H${new Date().toISOString()}  ${base}\n\n${screen}`);
      previous = new Map(rows.map((r) => [`${r.kind}:${r.id}`, r]));
      last = now;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  },
};
