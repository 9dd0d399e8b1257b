/**
 * Test support for the postgres sink: a sink instance outside a runtime (with a context whose
 * metrics and state the test can read), and event builders. Not a test file itself.
 */
import pino from 'pino';
import {
  type BusinessEvent,
  type ComponentContext,
  Delivery,
  type EncodedBatch,
  encodeBatch,
  type Json,
  type Labels,
  type MetricHistogram,
  type MetricPoint,
  type TelemetryEvent,
  type WriteMeta,
} from '../../../../index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { ResourceRegistry } from '../../../../core/plugin/resource.js';
import { PostgresConnection } from '../api.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { MetricsRegistry } from '../../../../core/telemetry/metrics.js';
import { postgresSinkConfig } from '../config.js';
import plugin from '../index.js';
import type { PostgresHandle } from '../handle.js';
import type { PostgresSink } from '../sink.js';
import { tempDir, type TestContext } from '../../../../testing/index.js';

export interface OpenedSink {
  readonly sink: PostgresSink;
  readonly handle: PostgresHandle;
  readonly registry: MetricsRegistry;
  readonly state: Map<string, Json>;
  /** A plugin counter's value for this sink, e.g. `counter('series_created_total')`. */
  counter(name: string): Promise<number>;
}

/** Creates (not starts) a postgres sink on `options`; it is stopped at teardown. */
export function createSink(t: TestContext, options: Record<string, unknown>, o: { id?: string; state?: Map<string, Json>; dataDir?: string } = {}): OpenedSink {
  const id = o.id ?? 'pg';
  const registry = new MetricsRegistry({ processMetrics: false });
  const state = o.state ?? new Map<string, Json>();
  const published = new Map<string, unknown>();
  const resources = new ResourceRegistry();
  const ctx: ComponentContext = {
    id,
    kind: 'sink',
    type: 'postgres',
    logger: pino({ level: process.env.THERMOCLINE_TEST_LOG ?? 'silent' }),
    metrics: registry.forComponent(id, 'sink', 'postgres'),
    dataDir: o.dataDir ?? tempDir(t, 'thermocline-pg-sink-'),
    state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v), delete: (k) => void state.delete(k) },
    signal: new AbortController().signal,
    provide: (key, value) => resources.provide(id, key, value),
    use: (key, from) => resources.use(key, from),
    publish: (v) => void published.set(id, v),
    lookup: (other) => published.get(other),
  };
  const config = postgresSinkConfig.parse(options);
  const sink = plugin.create(config, ctx) as PostgresSink;
  t.teardown(() => sink.stop());
  return {
    sink,
    handle: resources.use(PostgresConnection, id) as PostgresHandle,
    registry,
    state,
    counter: async (name) => {
      const metric = registry.registry.getSingleMetric(`thermocline_postgres_${name}`);
      const values = metric ? (await metric.get()).values : [];
      return values.find((v) => v.labels.component_id === id)?.value ?? 0;
    },
  };
}

/** Creates and starts a sink. */
export async function openSink(
  t: TestContext,
  options: Record<string, unknown>,
  o: { id?: string; state?: Map<string, Json>; dataDir?: string } = {},
): Promise<OpenedSink> {
  const opened = createSink(t, options, o);
  await opened.sink.start();
  return opened;
}

let nextSeq = 1_700_000_000_000_000;

/** Delivery metadata as the runtime makes it; a fresh seq unless given. */
export function meta(seq = nextSeq++, sink = 'pg', instance = 'test'): WriteMeta {
  return { delivery: new Delivery(sink, instance, seq), attempt: 1 };
}

/** Now, in whole microseconds, plus an offset. */
export const nowUs = (offsetUs = 0): number => Date.now() * 1000 + offsetUs;

export function point(name: string, labels: Labels, value: number, timeUs = nowUs(), type: MetricPoint['type'] = 'gauge'): MetricPoint {
  return { kind: 'metric', type, name, labels, time_us: timeUs, value };
}

export function histogram(name: string, labels: Labels, h: MetricHistogram['histogram'], timeUs = nowUs()): MetricHistogram {
  return { kind: 'metric', type: 'histogram', name, labels, time_us: timeUs, histogram: h };
}

export function event(type: string, payload: Record<string, unknown>, timeUs = nowUs(), service = 'checkout', severity = 'info'): BusinessEvent {
  return { kind: 'event', type, service, severity, payload, time_us: timeUs };
}

export function logEvent(message: string): TelemetryEvent {
  return { kind: 'log', time_us: nowUs(), service: 'svc', host: 'h', level: 'info', trace_id: '', span_id: '', message, labels: {} };
}

/** `events` as queued batches of `size` events, as the runtime hands them to `writeEncoded`. */
export function queued(events: readonly TelemetryEvent[], size: number): EncodedBatch[] {
  const out: EncodedBatch[] = [];
  for (let i = 0; i < events.length; i += size) {
    const batch = events.slice(i, i + size);
    out.push({ data: Buffer.from(encodeBatch(batch)), events: batch.length });
  }
  return out;
}
