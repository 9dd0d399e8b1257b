import type { Sliced } from '../../../index.js';
import type { OtlpHttpConfig } from './config.js';
import type { ItemLimits } from './item-limits.js';
import { logsJson } from './json/logs.js';
import { metricsJson } from './json/metrics.js';
import { tracesJson } from './json/traces.js';
import type { Decoded } from './mapping.js';
import { logsProto } from './proto/logs.js';
import { metricsProto } from './proto/metrics.js';
import { tracesProto } from './proto/traces.js';
import type { PartialSuccessField } from './reply.js';

/** One OTLP signal: its decoders and the name of its `rejected_*` counter. */
export interface Signal {
  name: 'traces' | 'logs' | 'metrics';
  items: string;
  partial: PartialSuccessField;
  protobuf(body: Buffer, lim: ItemLimits): Sliced<Decoded>;
  json(body: unknown, lim: ItemLimits): Sliced<Decoded>;
}

/** URL path → signal, from `paths`. */
export function routes(config: OtlpHttpConfig): Map<string, Signal> {
  const keys = config.metric_resource_labels;
  const signals: Signal[] = [
    { name: 'traces', items: 'spans', partial: { proto: 'rejected_spans', json: 'rejectedSpans' }, protobuf: tracesProto, json: tracesJson },
    {
      name: 'logs',
      items: 'log records',
      partial: { proto: 'rejected_log_records', json: 'rejectedLogRecords' },
      protobuf: logsProto,
      json: logsJson,
    },
    {
      name: 'metrics',
      items: 'data points',
      partial: { proto: 'rejected_data_points', json: 'rejectedDataPoints' },
      protobuf: (body, lim) => metricsProto(body, keys, lim),
      json: (body, lim) => metricsJson(body, keys, lim),
    },
  ];
  return new Map(signals.map((s) => [config.paths[s.name], s]));
}
