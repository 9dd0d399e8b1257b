import { consoleConfig } from './config.js';
import { defineSink } from '../../../core/plugin/define.js';
import type { TelemetryEvent } from '../../../core/events.js';


function text(e: TelemetryEvent): string {
  const iso = (us: number) => new Date(us / 1000).toISOString();
  switch (e.kind) {
    case 'log':
      return `${iso(e.time_us)} ${e.level.toUpperCase()} ${e.service} ${e.message}`;
    case 'metric':
      return `${iso(e.time_us)} ${e.type} ${e.name}${JSON.stringify(e.labels)} ${e.type === 'histogram' ? `count=${e.histogram.count} sum=${e.histogram.sum}` : e.value}`;
    case 'span':
      return `${iso(e.start_us)} span ${e.service} ${e.name} ${e.duration_ns / 1e6}ms ${e.status_code} trace=${e.trace_id}`;
    case 'event':
      return `${iso(e.time_us)} event ${e.type} ${e.service} ${e.severity} ${JSON.stringify(e.payload)}`;
  }
}

/** Prints events, for trying pipelines out. */
export default defineSink({
  type: 'console',
  summary: 'Prints events to stdout or stderr.',
  config: consoleConfig,
  example: { encoding: 'text' },
  batch: { max_events: 1000, timeout_secs: 0.2 },
  create(config) {
    const out = config.target === 'stdout' ? process.stdout : process.stderr;
    return {
      async write(batch) {
        const lines = batch.map((e) => (config.encoding === 'json' ? JSON.stringify(e) : text(e))).join('\n');
        await new Promise<void>((resolve, reject) => out.write(`${lines}\n`, (err) => (err ? reject(err) : resolve())));
      },
    };
  },
});
