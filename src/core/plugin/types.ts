import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ErrorCodes } from '../errors.js';
import type { Delivery } from '../delivery.js';
import type { ResourceKey, ResourceUse } from './resource.js';
import type { TelemetryEvent } from '../events.js';
import type { ComponentMetrics } from '../telemetry/metrics.js';

export type ComponentKind = 'source' | 'transform' | 'sink' | 'task';

/** A JSON value: what checkpoints and persisted state may hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A plugin's options schema. Use `z.strictObject` (also for nested tables) so unknown keys are errors. */
export type ConfigSchema = z.ZodObject;

/** A problem a plugin's pure `validate` finds; `path` is relative to the component's table. */
export interface PluginIssue {
  path: Array<string | number>;
  message: string;
}

/** Small persistent key-value store per component, in the agent's state database. */
export interface StateStore {
  get(key: string): Json | undefined;
  set(key: string, value: Json): void;
  delete(key: string): void;
}

/** Everything a component receives from the runtime. */
export interface ComponentContext {
  /** The component id: the key under `[sources]`, `[transforms]`, `[sinks]` or `[tasks]`. */
  readonly id: string;
  readonly kind: ComponentKind;
  readonly type: string;
  /** A pino logger bound to this component. Never log per event. */
  readonly logger: Logger;
  readonly metrics: ComponentMetrics;
  /** Absolute path of `data_dir`. */
  readonly dataDir: string;
  readonly state: StateStore;
  /** Aborted when the component is being stopped. */
  readonly signal: AbortSignal;
  /**
   * Offer a resource to other components (e.g. a sink's database connection that a task reuses),
   * under a key made with `defineResource`; declare it in the plugin's `provides`.
   */
  provide<T>(key: ResourceKey<T>, value: T): void;
  /**
   * The resource `key` offered by the component `from`; declare the need in the plugin's `uses`,
   * so that `from` starts first. Undefined when `from` offers none (it is not running).
   */
  use<T>(key: ResourceKey<T>, from: string): T | undefined;
  /**
   * An untyped value offered to tests and tools (e.g. a listener's bound address).
   * @deprecated For what components share, use `provide`.
   */
  publish(value: unknown): void;
  /** @deprecated Use `use`. */
  lookup(componentId: string): unknown;
}

export interface EmitOptions {
  /**
   * When a queue of a `when_full = "block"` sink that the batch reaches is full: wait (the
   * default; the back-pressure point for readers like the file source) or return `'full'` at
   * once, committing nothing (for receivers that answer their clients, like OTLP's 503). Emitting
   * the same array again later does not run the transforms again.
   */
  wait?: boolean;
  /**
   * The events are upstream batches that already have an identity of their own, the same on every
   * agent that receives them (a message on a bus, with its producer's id): `events` is split into
   * consecutive parts, `count` events each, in order (the counts add up to `events.length`). Each
   * part is transformed, routed and queued as a batch of its own, all parts in the one
   * transaction. A sink delivers such a batch alone, and its `delivery.token()` is built from the
   * sink id and the origin id instead of this agent's queue, so a store that deduplicates on tokens
   * drops the same upstream batch written by another agent (docs/delivery.md#upstream-identity).
   */
  origins?: readonly EmitOrigin[];
}

/** One upstream batch within an `emit` (see `EmitOptions.origins`). */
export interface EmitOrigin {
  /** Stable and unique among everything the upstream ever sends, at most 256 characters. */
  id: string;
  /** How many of the emitted events, from where the previous origin ended, belong to it. */
  count: number;
}

export type EmitOutcome = 'accepted' | 'full';

/** A batch in the queue's own encoding (`encodeBatch`), as another agent queued and sent it. */
export interface EncodedEmit {
  readonly data: Buffer;
  /** Its upstream identity, as `EmitOrigin.id` (at most 256 characters); see `EmitOptions.origins`. */
  readonly origin?: string;
}

export interface SourceContext extends ComponentContext {
  /**
   * Run `events` through the transforms and append the result to the queue of every sink it
   * reaches, together with `checkpoint`, in one transaction. Only the queues the routed events
   * reach are asked for room: a full queue of a sink this batch does not reach holds nothing back.
   * Resolves once both are durable, so a source must only advance its own position after it
   * resolves. Rejects with `ShutdownError` when the agent stops while waiting for room.
   */
  emit(events: TelemetryEvent[], checkpoint?: Json, options?: EmitOptions): Promise<EmitOutcome>;
  /**
   * `emit` for batches that arrive already in the queue's encoding (a message of the nats sink):
   * the same transaction, back-pressure and per-origin tokens as `emit` with one origin per batch.
   * When nothing between this source and its sinks needs the events (no transform, no live tap),
   * each batch is appended to the queues as it is, without being decoded
   * (docs/ARCHITECTURE.md#batches-taken-as-they-arrived); otherwise it is decoded and emitted.
   * Throws `CorruptBatchError`, committing nothing, for a batch that fails `verifyBatch`: check
   * batches from outside first and dead-letter the bad ones. The queues may keep each batch's
   * `data` in memory as it is until it is delivered (docs/ARCHITECTURE.md#reading-recent-batches):
   * do not modify a buffer once it is emitted.
   */
  emitEncoded(batches: readonly EncodedEmit[], checkpoint?: Json, options?: Pick<EmitOptions, 'wait'>): Promise<EmitOutcome>;
  /**
   * True while some `block` sink this source can reach is full, whatever its data would be: for a
   * source that decides before it has data (a scraper skips a due scrape). With a batch in hand,
   * let `emit` decide: it looks only at the queues that batch reaches.
   */
  isBlocked(): boolean;
  /**
   * Put events the source took in but must not deliver (invalid, or sent aside by a policy) in the
   * dead-letter table, each with its reason, durably before it returns: for inputs that cannot
   * answer their producer. `thermocline dead-letter` shows them under the source's id.
   */
  deadLetter(events: TelemetryEvent[], rows: RejectedRow[], error: string): void;
  /** The checkpoint last committed by this source (from a previous run, too), if any. */
  readonly checkpoint: Json | undefined;
}

/**
 * Lifecycle contract (all components): `start` is called once; `stop` may be called without
 * `start`, more than once, and must resolve within the shutdown deadline (the runtime stops
 * waiting after it). After `stop` resolves, a source emits nothing more.
 */
export interface SourceInstance {
  start(): Promise<void>;
  stop(): Promise<void>;
  healthcheck?(): Promise<void>;
}

/** Output of a transform: its default output, or a map of named outputs (`<id>.<name>`). */
export type TransformResult = TelemetryEvent[] | Record<string, TelemetryEvent[]>;

export interface TransformInstance {
  /**
   * Synchronous. May mutate and return the events it receives: the runtime gives each consumer
   * its own copy where an output fans out to several transforms.
   */
  process(events: TelemetryEvent[]): TransformResult;
  stop?(): Promise<void> | void;
}

export interface WriteMeta {
  /**
   * Which queued batches this is: sink, queue instance, first and last seq. A replay carries an
   * equal value; `delivery.token()` is its deduplication token (src/core/delivery.ts).
   */
  delivery: Delivery;
  /** 1 on the first attempt. */
  attempt: number;
}

/** One queued batch in the queue's own encoding (`decodeBatch` reads it), with its event count. */
export interface EncodedBatch {
  readonly data: Buffer;
  readonly events: number;
}

/** A row the sink isolated as bad; the runtime puts it in the dead-letter table. */
export interface RejectedRow {
  index: number;
  reason: string;
}

export interface WriteResult {
  rejected?: RejectedRow[];
}

export interface SinkInstance {
  /** Connect, migrate, warm caches. A thrown `RetryableError` is retried in the background. */
  start?(): Promise<void>;
  /**
   * Deliver one batch. Resolve only when it is durable at the destination. Throw
   * `RetryableError` (kept and retried) or `PermanentError` (dead-lettered). Return rows that
   * were isolated as bad after the good ones were written. Replays carry an equal `meta.delivery`.
   */
  write(events: TelemetryEvent[], meta: WriteMeta): Promise<WriteResult | void>;
  /**
   * Optional: deliver the batch as it is queued, without the runner decoding it into events. For
   * sinks that forward batches whole (to a bus) or only count them: when present, the runner calls
   * it instead of `write`, with the delivery's queued batches in order, each already checked
   * against its checksum. The same rules as `write` apply; rejected rows index into the events
   * of all the batches in order, and `decodeBatch` gives them when the sink needs them after all.
   */
  writeEncoded?(batches: readonly EncodedBatch[], meta: WriteMeta): Promise<WriteResult | void>;
  /**
   * Optional, with `writeEncoded`: the delivery that comes next, handed over while the one before it
   * is being written, so the sink can prepare it meanwhile (encode its rows while the destination
   * works on the write in flight). A hint: `writeEncoded` is later called with the same batches and
   * an equal `delivery` (docs/delivery.md#the-next-delivery), unless the agent stops first; it may
   * also be called for another delivery, whatever was prepared, so anything prepared is checked
   * against `meta.delivery` there and dropped when it does not match. Must not throw; `stop()`
   * discards what was prepared and not written.
   */
  prepareEncoded?(batches: readonly EncodedBatch[], delivery: Delivery): void;
  stop?(): Promise<void>;
  /** Does what a write does (connect, check permissions) without writing data. */
  healthcheck?(): Promise<void>;
}

export interface BatchDefaults {
  /** Events per delivery. */
  max_events: number;
  /** Encoded bytes per delivery. */
  max_bytes: number;
  /** How long to wait for a batch to fill before delivering what is there. */
  timeout_secs: number;
}

interface PluginBase<S extends ConfigSchema> {
  /** `lower_snake_case`; sources and sinks are nouns, transforms are verbs. */
  type: string;
  /** One sentence for docs and `--help`. */
  summary: string;
  config: S;
  /** The error codes the plugin throws or logs, from `defineErrorCodes`; docs/errors.md lists them. */
  errors?: ErrorCodes;
  /** An example table (without `type`/`inputs`), used in docs and the shared lifecycle test. */
  example?: Record<string, unknown>;
  /** Pure semantic checks beyond the schema (no I/O). */
  validate?(config: z.output<S>): PluginIssue[];
  /**
   * Kinds and types this plugin was known by before: a config that still uses one gets an error
   * naming this plugin instead of a plain "unknown type".
   */
  formerly?: ReadonlyArray<{ kind: ComponentKind; type: string }>;
  /** The resource keys this plugin's components offer (`ctx.provide`). */
  provides?: ReadonlyArray<ResourceKey<unknown>>;
  /** The resources a component needs, and from which component: the provider starts first. */
  uses?(config: z.output<S>): ResourceUse[];
  /** Ids of sinks that must start before this one, beyond those named in `uses`. */
  dependsOn?(config: z.output<S>): string[];
}

export interface SourcePlugin<S extends ConfigSchema = ConfigSchema> extends PluginBase<S> {
  kind: 'source';
  create(config: z.output<S>, ctx: SourceContext): SourceInstance;
}

export interface TransformPlugin<S extends ConfigSchema = ConfigSchema> extends PluginBase<S> {
  kind: 'transform';
  /** Named outputs, for transforms that split (`route`): consumers refer to `<id>.<name>`. */
  outputs?(config: z.output<S>): string[];
  create(config: z.output<S>, ctx: ComponentContext): TransformInstance;
}

export interface SinkPlugin<S extends ConfigSchema = ConfigSchema> extends PluginBase<S> {
  kind: 'sink';
  batch?: Partial<BatchDefaults>;
  create(config: z.output<S>, ctx: ComponentContext): SinkInstance;
}

/**
 * Work without inputs or outputs (docs/plugins.md#tasks): a task reads and writes on its own,
 * e.g. the rollup exporter copying PostgreSQL rollups to ClickHouse. The runtime starts tasks
 * after the sinks (whose connections they may reuse, see `dependsOn`) and stops them before.
 *
 * Lifecycle: as for every component. With `schedule`, the runtime calls `run` at that interval
 * (never two at once, the next one `every_ms` after the previous ended); without it, the task runs
 * its own loop from `start` to `stop`. State it must keep across restarts goes in `ctx.state`.
 */
export interface TaskInstance {
  /** Connect, check. A thrown error marks the task failed; the start is retried in the background. */
  start?(): Promise<void>;
  /** One scheduled run; its errors are logged and counted, and the next run comes at its time. */
  run?(signal: AbortSignal): Promise<void>;
  stop?(): Promise<void>;
  /** Does what a run does (connect, check permissions and tables) without changing anything. */
  healthcheck?(): Promise<void>;
}

export interface TaskSchedule {
  /** Time between the end of one run and the start of the next. */
  every_ms: number;
  /** Time before the first run (default: `every_ms`). */
  first_after_ms?: number;
}

export interface TaskPlugin<S extends ConfigSchema = ConfigSchema> extends PluginBase<S> {
  kind: 'task';
  /** When the runtime calls `run`; omit for tasks that run their own loop. */
  schedule?(config: z.output<S>): TaskSchedule;
  create(config: z.output<S>, ctx: ComponentContext): TaskInstance;
}

export type AnyPlugin = SourcePlugin | TransformPlugin | SinkPlugin | TaskPlugin;
