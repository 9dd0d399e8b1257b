/**
 * OTLP/JSON leniencies (OTLP specification, "JSON Protobuf Encoding", and the protobuf JSON
 * mapping that parsers follow): snake_case keys, enum names, 64-bit integers as numbers,
 * null for unset fields. Each variant must decode to the same events as the canonical form.
 */
import t from 'tap';
import { decodeLogsJson } from './json/logs.js';
import { decodeMetricsJson } from './json/metrics.js';
import { decodeTracesJson } from './json/traces.js';
import { level } from './mapping.js';

const TRACE = '5b8efff798038103d269b633813fc60c';

t.test('snake_case keys, enum names, numeric int64s and nulls decode like the canonical form', async (t) => {
  const canonical = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: TRACE,
                spanId: 'eee19b7ec3c1b174',
                name: 'a',
                kind: 3,
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000000000001000',
                attributes: [{ key: 'n', value: { intValue: '12' } }],
                status: { code: 2 },
              },
            ],
          },
        ],
      },
    ],
  };
  const variant = {
    resource_spans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { string_value: 'svc' } }] },
        scope_spans: [
          {
            scope: null,
            spans: [
              {
                trace_id: TRACE,
                span_id: 'eee19b7ec3c1b174',
                parent_span_id: null,
                name: 'a',
                kind: 'SPAN_KIND_CLIENT',
                start_time_unix_nano: 1700000000000000000,
                end_time_unix_nano: '1700000000000001000',
                attributes: [{ key: 'n', value: { int_value: 12 } }],
                status: { code: 'STATUS_CODE_ERROR' },
                links: null,
              },
            ],
          },
        ],
      },
    ],
  };
  const expected = decodeTracesJson(canonical);
  t.equal(expected.events.length, 1);
  t.strictSame(decodeTracesJson(variant), expected);
});

t.test('log severities given by name, and levels from numbers or text', async (t) => {
  const logs = decodeLogsJson({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              { timeUnixNano: '1', severityNumber: 'SEVERITY_NUMBER_WARN3' },
              { timeUnixNano: '1', severity_number: 'SEVERITY_NUMBER_TRACE' },
              { timeUnixNano: '1', severityNumber: 21, severityText: 'CRITICAL' },
            ],
          },
        ],
      },
    ],
  });
  t.strictSame(
    logs.events.map((e) => (e.kind === 'log' ? e.level : '')),
    ['warn', 'trace', 'critical'],
  );
  t.equal(level('', 0), '');
  t.equal(level('', 25), '');
  t.equal(level('', 4), 'trace');
  t.equal(level('', 5), 'debug');
  t.equal(level('', 24), 'fatal');
  t.throws(() => decodeLogsJson({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 'LOUD' }] }] }] }), /severityNumber: expected an integer/);
});

t.test('metric enums by name and counts as numbers', async (t) => {
  const decoded = decodeMetricsJson(
    {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'c',
                  sum: {
                    aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                    is_monotonic: true,
                    data_points: [{ time_unix_nano: '5000', as_int: 3 }],
                  },
                },
                { name: 'h', histogram: { dataPoints: [{ timeUnixNano: '5000', count: 2, sum: '1.5', bucketCounts: [1, '1'], explicitBounds: ['0.5'] }] } },
              ],
            },
          ],
        },
      ],
    },
    [],
  );
  t.strictSame(decoded.events, [
    { kind: 'metric', name: 'c', type: 'counter', labels: {}, time_us: 5, value: 3 },
    { kind: 'metric', name: 'h', type: 'histogram', labels: {}, time_us: 5, histogram: { count: 2, sum: 1.5, buckets: { '0.5': 1, '+Inf': 2 } } },
  ]);
});

t.test('values of the wrong JSON type are refused with their path', async (t) => {
  const wrong: Array<[unknown, RegExp]> = [
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 5 }] }] }] }, /spans\[0\]\.traceId: expected a string/],
    [
      { resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'a', value: { boolValue: 'yes' } }] }] }] }] },
      /value\.boolValue: expected true or false/,
    ],
    [
      { resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'a', value: { doubleValue: 'lots' } }] }] }] }] },
      /value\.doubleValue: expected a number/,
    ],
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ status: 'ok' }] }] }] }, /spans\[0\]\.status: expected an object/],
    [{ resourceSpans: [{ scopeSpans: ['x'] }] }, /resourceSpans\[0\]\.scopeSpans\[0\]: expected an object/],
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ endTimeUnixNano: -1 }] }] }] }, /endTimeUnixNano: expected a timestamp/],
  ];
  for (const [body, message] of wrong) t.throws(() => decodeTracesJson(body), message);
  let value: unknown = { stringValue: 'deep' };
  for (let i = 0; i < 40; i++) value = { arrayValue: { values: [value] } };
  t.throws(() => decodeTracesJson({ resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'a', value }] }] }] }] }), /nested deeper than 32 levels/);
});

t.test('an attribute named __proto__ is kept as an ordinary label', async (t) => {
  const body = JSON.parse(
    `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","summary":{"dataPoints":[{"timeUnixNano":"1000","attributes":[{"key":"__proto__","value":{"stringValue":"x"}}],"quantileValues":[{"quantile":0.5,"value":1}]}]}}]}]}]}`,
  ) as unknown;
  const [point] = decodeMetricsJson(body, []).events;
  t.equal(Object.getPrototypeOf(point?.kind === 'metric' ? point.labels : {}), Object.prototype);
  t.strictSame(Object.entries(point?.kind === 'metric' ? point.labels : {}), [
    ['__proto__', 'x'],
    ['quantile', '0.5'],
  ]);
});
