import os from 'node:os';
import type { TelemetryEvent } from '../../../index.js';
import type { GeneratorConfig } from './config.js';

const LEVELS = ['info', 'info', 'info', 'debug', 'warn', 'error'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/login', '/healthz', '/api/search'];
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width);

/**
 * Builds synthetic events. Every event carries its sequence number (`labels.seq`, or `attr.seq`
 * on spans) so tests can prove that each generated event arrives exactly once.
 */
export class Synthesizer {
  private readonly host = os.hostname();
  private readonly filler: string;

  constructor(private readonly config: GeneratorConfig) {
    this.filler = 'x'.repeat(Math.max(0, config.message_bytes - 60));
  }

  make(seq: number, timeUs: number): TelemetryEvent {
    const { kinds, service } = this.config;
    const kind = kinds[seq % kinds.length];
    const route = ROUTES[seq % ROUTES.length] as string;
    const trace_id = hex(seq, 16).padStart(32, '0');
    const span_id = hex(seq, 16);
    if (kind === 'metric') {
      return {
        kind: 'metric',
        type: 'gauge',
        name: 'generator_request_duration_seconds',
        labels: { route, seq: String(seq), service },
        time_us: timeUs,
        value: (seq % 1000) / 1000,
      };
    }
    if (kind === 'span') {
      return {
        kind: 'span',
        trace_id,
        span_id,
        parent_span_id: '',
        service,
        name: `GET ${route}`,
        start_us: timeUs - 1000,
        end_us: timeUs,
        duration_ns: 1_000_000,
        status_code: seq % 50 === 0 ? 'ERROR' : 'OK',
        status_message: '',
        attr: { 'http.route': route, seq: String(seq) },
        events: [],
      };
    }
    return {
      kind: 'log',
      time_us: timeUs,
      service,
      host: this.host,
      level: LEVELS[seq % LEVELS.length] as string,
      trace_id,
      span_id,
      message: `GET ${route} 200 ${seq % 97}ms request=${seq} ${this.filler}`,
      labels: { seq: String(seq) },
    };
  }
}
