import type { OtlpHttpConfig } from './config.js';
import { decodeLogsJson } from './json/logs.js';
import { decodeMetricsJson } from './json/metrics.js';
import { decodeTracesJson } from './json/traces.js';
import type { Decoded } from './mapping.js';
import { decodeLogsProto } from './proto/logs.js';
import { decodeMetricsProto } from './proto/metrics.js';
import { decodeTracesProto } from './proto/traces.js';
import type { PartialSuccessField } from './reply.js';

/** One OTLP signal: its decoders and the name of its `rejected_*` counter. */
export interface Signal {
  name: 'traces' | 'logs' | 'metrics';
  items: string;
  partial: PartialSuccessField;
  protobuf(body: Buffer): Decoded;
  json(body: unknown): Decoded;
}

/** URL path → signal, from `paths`. */
export function routes(config: OtlpHttpConfig): Map<string, Signal> {
  const keys = config.metric_resource_labels;
  const signals: Signal[] = [
    { name: 'traces', items: 'spans', partial: { proto: 'rejected_spans', json: 'rejectedSpans' }, protobuf: decodeTracesProto, json: decodeTracesJson },
    {
      name: 'logs',
      items: 'log records',
      partial: { proto: 'rejected_log_records', json: 'rejectedLogRecords' },
      protobuf: decodeLogsProto,
      json: decodeLogsJson,
    },
    {
      name: 'metrics',
      items: 'data points',
      partial: { proto: 'rejected_data_points', json: 'rejectedDataPoints' },
      protobuf: (body) => decodeMetricsProto(body, keys),
      json: (body) => decodeMetricsJson(body, keys),
    },
  ];
  return new Map(signals.map((s) => [config.paths[s.name], s]));
}
