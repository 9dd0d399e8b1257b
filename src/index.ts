/**
 * Thermocline's public API: the one door for built-in and custom plugins (docs/plugins.md).
 * Plugin authors build schemas with the re-exported `z` so that config validation, docs and the
 * editor JSON Schema all come from one definition.
 */
export { z } from 'zod';
export { defineSink, defineSource, defineTask, defineTransform } from './core/plugin/define.js';
export { Delivery } from './core/delivery.js';
export { defineResource, type ResourceKey, type ResourceUse } from './core/plugin/resource.js';
export type {
  AnyPlugin,
  BatchDefaults,
  ComponentContext,
  ComponentKind,
  ConfigSchema,
  EmitOptions,
  EmitOrigin,
  EncodedBatch,
  EncodedEmit,
  EmitOutcome,
  Json,
  PluginIssue,
  RejectedRow,
  SinkInstance,
  SinkPlugin,
  SourceContext,
  SourceInstance,
  SourcePlugin,
  StateStore,
  TaskInstance,
  TaskPlugin,
  TaskSchedule,
  TransformInstance,
  TransformPlugin,
  TransformResult,
  WriteMeta,
  WriteResult,
} from './core/plugin/types.js';
export type {
  BusinessEvent,
  EventKind,
  HistogramValue,
  Labels,
  LogEvent,
  MetricEvent,
  MetricHistogram,
  MetricPoint,
  MetricType,
  SpanEvent,
  SpanEventEntry,
  SpanStatusCode,
  TelemetryEvent,
} from './core/events.js';
export { canonicalLabels, canonicalLabelsJson, labelsOf, timeOf, EVENT_KINDS } from './core/events.js';
export {
  ConfigError,
  CORE_ERRORS,
  defineErrorCodes,
  errorEntries,
  errorHint,
  isErrorCodeSet,
  isErrorCode,
  PermanentError,
  QueueFullError,
  RetryableError,
  ShutdownError,
  ThermoclineError,
} from './core/errors.js';
export type { ConfigErrorCode, ConfigIssue, ErrorCode, ErrorCodes, ErrorEntry } from './core/errors.js';
export { byteSize, duration, listenAddress, splitAddress } from './core/config/units.js';
export { COMPONENT_ID } from './core/config/schema.js';
export { errorMessage } from './core/errors.js';
export { RateLimitedLog } from './core/runtime/logger.js';
export { aborted, raceTimeout, sleep } from './core/runtime/timing.js';
export { runAtOnce, runInSlices, type Sliced } from './core/runtime/slices.js';
export type { ComponentMetrics, BoundCounter, BoundGauge, LabelledCounter } from './core/telemetry/metrics.js';
// Business events: the schema registry and its validators (docs/events.md).
export {
  FIXED_COLUMNS,
  MAX_PAYLOAD_DEPTH,
  REGISTRY_CHANNEL,
  REGISTRY_ERRORS,
  SAFE_IDENTIFIER,
  SchemaError,
  SchemaRegistry,
  canonicalJson,
  checkEventType,
  compileSchema,
  escapePointer,
  EVENT_TYPE,
  EventAdmitter,
  admissionCounters,
  tooDeep,
  describeIncompatibility,
  fingerprintOf,
  getSchema,
  incompatibilities,
  latestSchemas,
  listSchemas,
  registerSchema,
  topLevelProperties,
} from './registry/index.js';
export type {
  Admission,
  AdmissionCounters,
  AdmissionOptions,
  CandidateEvent,
  CompiledSchema,
  EventProblem,
  EventStore,
  RefusedEvent,
  UnregisteredPolicy,
  RegisterOptions,
  RegisterResult,
  RegistryOrigin,
  StorageExtension,
  StoredSchema,
  ValidationIssue,
} from './registry/index.js';
// HTTP receivers: bounded, decompressed request bodies and bearer-token checks (otlp_http, http_events).
export { HttpError, LINGER_MS, contentCoding, discardRest, readBody } from './core/http/body.js';
export type { Body, ContentCoding } from './core/http/body.js';
export { bearerCheck } from './core/http/bearer.js';
export { DecodeBudget } from './core/http/budget.js';
export { hardenServer, httpLimitsSchema, serverOptions } from './core/http/limits.js';
export { listen } from './core/http/listen.js';
export type { ConnectionMetrics, HttpLimits } from './core/http/limits.js';
export { eventId } from './core/event-id.js';
export type { EventIdentity } from './core/event-id.js';
// The queue's compact batch encoding and OTLP/protobuf export requests, for plugins that carry
// events over another transport (the nats sink and source).
export { encodeBatch, decodeBatch, verifyBatch } from './core/codec/batch.js';
export { BatchWriter } from './core/codec/batch-writer.js';
export { BatchCursor, BatchField, BatchLabels } from './core/codec/cursor.js';
// Its growable buffer, for plugins that write a binary format of their own (the clickhouse sink's RowBinary).
export { ByteWriter } from './core/codec/writer.js';
export type { CursorKind, LabelSet } from './core/codec/cursor.js';
export { encodeLogs as encodeOtlpLogs } from './plugins/sinks/otlp_http/encode/logs.js';
export { encodeMetrics as encodeOtlpMetrics } from './plugins/sinks/otlp_http/encode/metrics.js';
export { encodeTraces as encodeOtlpTraces } from './plugins/sinks/otlp_http/encode/traces.js';
export { splitBySignal, type BySignal } from './plugins/sinks/otlp_http/encode/signals.js';
// Last, so that every export above is initialised before these plugin modules (which import this
// file) run their top-level definitions: docs/plugins.md#what-a-plugin-may-import.
export { type PostgresHandle, PostgresConnection, schemaRegistryOf } from './plugins/sinks/postgres/api.js';
export { type ClickHouseHandle, ClickHouseConnection } from './plugins/sinks/clickhouse/api.js';
// Everything the nats sink offers other plugins (its api.ts lists it).
export * from './plugins/sinks/nats/api.js';
