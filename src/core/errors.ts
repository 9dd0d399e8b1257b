/**
 * Errors users see carry a stable code and a hint saying what to do. Each module defines the codes
 * it throws with `defineErrorCodes`, next to the code that throws them; only a code made there
 * type-checks as an `ErrorCode`, so a mistyped code does not compile. `docs/errors.md` is generated
 * from an explicit list of these sets (the core's, the storage layer's and each plugin's `errors`),
 * and a test fails when it is stale or when a `TC_…` code in `src/` is missing from it.
 */

export interface ErrorEntry {
  /** One line: what went wrong. */
  readonly title: string;
  /** What the user can do about it. */
  readonly hint: string;
}

declare const errorCodeBrand: unique symbol;

/** A code made by `defineErrorCodes`: a plain string at run time, distinct from `string` for the compiler. */
export type ErrorCode<C extends string = string> = C & { readonly [errorCodeBrand]: C };

/** The codes one module defines: each property holds its own name as a typed code. */
export type ErrorCodes<K extends string = string> = { readonly [P in K]: ErrorCode<P> };

/** Where a set keeps its entries; `Symbol.for` so that two copies of this module agree on it. */
const ENTRIES = Symbol.for('thermocline.errorCodes.entries');

const CODE_FORMAT = /^TC_[A-Z0-9_]+$/;

/** Every code defined in this process, for `ThermoclineError.hint`; holding a code means its set was defined. */
const defined = new Map<string, ErrorEntry>();

/**
 * Defines a module's error codes with their title and hint, and returns them typed, as the
 * postgres sink does in its `errors.ts`:
 * `export const PG_SINK_ERRORS = defineErrorCodes({ TC_PG_SINK_ROW_REJECTED: { title: '…', hint: '…' }, … })`,
 * then `new PermanentError('…', { code: PG_SINK_ERRORS.TC_PG_SINK_ROW_REJECTED })`. Codes are
 * `TC_` and upper case; docs/errors.md is generated from the sets (docs/plugins.md says how).
 */
export function defineErrorCodes<const T extends Record<string, ErrorEntry>>(entries: T): ErrorCodes<Extract<keyof T, string>> {
  const codes: Record<string, string> = {};
  for (const [code, entry] of Object.entries(entries)) {
    if (!CODE_FORMAT.test(code)) throw new TypeError(`error code "${code}" must match ${CODE_FORMAT.source}`);
    if (!entry.title || !entry.hint) throw new TypeError(`error code ${code} needs a title and a hint`);
    codes[code] = code;
    defined.set(code, { title: entry.title, hint: entry.hint });
  }
  Object.defineProperty(codes, ENTRIES, { value: Object.freeze({ ...entries }), enumerable: false });
  return Object.freeze(codes) as unknown as ErrorCodes<Extract<keyof T, string>>;
}

/** The title and hint of each code of a set made by `defineErrorCodes`; throws for anything else. */
export function errorEntries(codes: ErrorCodes): ReadonlyArray<[string, ErrorEntry]> {
  const entries = isErrorCodeSet(codes) ? (codes as unknown as Record<symbol, Record<string, ErrorEntry>>)[ENTRIES] : undefined;
  if (!entries) throw new TypeError('not a set of error codes: make it with defineErrorCodes({ TC_…: { title, hint } })');
  return Object.entries(entries);
}

/** True for a set made by `defineErrorCodes`. */
export function isErrorCodeSet(value: unknown): value is ErrorCodes {
  return typeof value === 'object' && value !== null && ENTRIES in value;
}

/** The hint of a code, from the module that defined it. */
export function errorHint(code: ErrorCode): string | undefined {
  return defined.get(code)?.hint;
}

/** True for a code that some module of this process defined with `defineErrorCodes`. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && defined.has(code);
}

/** The codes of the core: configuration, queue, data directory, API and sink outcomes. */
export const CORE_ERRORS = defineErrorCodes({
  TC_CONFIG_SYNTAX: {
    title: 'The configuration file is not valid TOML.',
    hint: 'Fix the syntax at the reported line and column; `thermocline validate -c <file>` checks a file without starting anything.',
  },
  TC_CONFIG_INVALID: {
    title: 'The configuration does not match the schema.',
    hint: 'Each problem is listed with its key path (and line, where known). Remove unknown keys, fix types, or see the plugin README for the allowed options.',
  },
  TC_CONFIG_READ: {
    title: 'The configuration file cannot be read.',
    hint: 'Check the path given with -c/--config and the file permissions.',
  },
  TC_CONFIG_ENV: {
    title: 'The configuration refers to an environment variable that is not set.',
    hint: 'Set the variable, or give a default with `${VAR:-default}`.',
  },
  TC_TOPOLOGY: {
    title: 'The pipeline graph is invalid (unknown input, cycle, or a sink without inputs).',
    hint: 'Every `inputs` entry must name a source, a transform, or a named output `<transform>.<output>`; the graph must not loop.',
  },
  TC_PLUGIN_UNKNOWN_TYPE: {
    title: 'No plugin is registered under this type.',
    hint: 'Check the spelling (`thermocline --help` lists built-in types), or load the plugin under `[plugins] load = [...]`.',
  },
  TC_PLUGIN_LOAD: {
    title: 'A custom plugin module could not be loaded or is not a plugin.',
    hint: 'The module must default-export (or export as `plugin`/`plugins`) the result of defineSource/defineTransform/defineSink.',
  },
  TC_PLUGIN_RENAMED: {
    title: 'The configuration names a plugin type by a name it no longer has.',
    hint: 'Write the component under the section and type the message gives (for example `[tasks.rollups] type = "rollup_exporter"` instead of `[sinks.rollups] type = "cagg_exporter"`); its options are unchanged.',
  },
  TC_PLUGIN_CREATE: {
    title: 'A plugin threw while being created or started.',
    hint: 'The message names the component; check its options. For connection problems the component retries in the background.',
  },
  TC_DATA_DIR: {
    title: 'The data directory cannot be created or written.',
    hint: 'Point `data_dir` at a writable directory (for systemd, `StateDirectory=` provides one).',
  },
  TC_DATA_DIR_IN_USE: {
    title: 'Another agent is running on the same data directory.',
    hint: 'Stop the other agent first (`thermocline demo` uses its own ./data-demo), or give this one its own `data_dir`: each agent needs its own queue database.',
  },
  TC_QUEUE_CORRUPT: {
    title: 'The queue database is corrupt or is not a Thermocline queue.',
    hint: 'Stop the agent, move `<data_dir>/queue.db*` aside (keep it for inspection) and start again; undelivered batches in the old file are not replayed.',
  },
  TC_QUEUE_BATCH_CORRUPT: {
    title: 'A queued batch failed its checksum or cannot be decoded; it was moved to the dead-letter table and not forwarded.',
    hint: 'The bytes changed on disk after they were written (a failing disk, a file system error, something else writing into queue.db). Check the disk (`dmesg`, SMART) and run `sqlite3 <data_dir>/queue.db "PRAGMA integrity_check"`; the entry in `thermocline dead-letter` keeps the raw bytes. Counted in `thermocline_component_errors_total{error_type="decode"}`.',
  },
  TC_DEAD_LETTER_REPLAY_REFUSED: {
    title: '`thermocline dead-letter --replay` did not move the entry back into a queue.',
    hint: 'The message says why: the id does not exist (list them with `thermocline dead-letter`), the entry came from a source or transform and needs `--to <sink>`, the named sink has no queue in this data_dir, or the batch does not decode (a `corrupt:` entry cannot be replayed). Replay works on a stopped agent: stop the agent first if the command reports TC_DATA_DIR_IN_USE.',
  },
  TC_MEMORY_LIMIT: {
    title: 'The agent holds more memory than `[memory] limit`; sources are held back until it falls below 90 % of it.',
    hint: 'Usually a burst the sinks have not caught up with: sources resume by themselves. If it stays, raise `[memory] limit`, lower the sinks\' `batch.max_bytes` or the listeners\' `max_body_bytes`/`max_connections`, and watch `thermocline_memory_used_bytes`.',
  },
  TC_QUEUE_FULL: {
    title: 'A sink queue is full.',
    hint: 'The sink is slower than its inputs or its destination is down. Raise `buffer.max_bytes`, fix the destination, or choose `when_full = "drop_newest"` if loss is acceptable.',
  },
  TC_SHUTTING_DOWN: {
    title: 'The agent is shutting down.',
    hint: 'Nothing to do: the data was not accepted and the sender should retry.',
  },
  TC_SINK_RETRYABLE: {
    title: 'A sink failed with a temporary error; the batch stays queued and is retried.',
    hint: 'Check that the destination is reachable; delivery resumes by itself.',
  },
  TC_SINK_PERMANENT: {
    title: 'A sink rejected a batch permanently; it was moved to the dead-letter table.',
    hint: '`thermocline dead-letter -c <config>` lists the dead letters with the destination\'s message; `--show ID` prints the events of one.',
  },
  TC_RELOAD_REFUSED: {
    title: 'A configuration reload was refused because the agent is stopping.',
    hint: 'Nothing to do: the agent is shutting down; start it again to use the new configuration.',
  },
  TC_API_LISTEN: {
    title: 'The API server cannot listen on its address.',
    hint: 'Another process uses the port, or the address is wrong: change `[api] address` or set `[api] enabled = false`.',
  },
  TC_API_HOST_REFUSED: {
    title: 'The API answered 421: the request\'s `Host` header names a host the API does not serve.',
    hint: 'On a loopback address the API answers only `localhost`, `127.0.0.1` and `[::1]`, so that web pages cannot read it through DNS rebinding. Use one of those names, or list the name you use (without port) in `[api] allowed_hosts`.',
  },
  TC_API_UNAUTHORIZED: {
    title: 'The API answered 401: /components and /tap need the bearer token of `[api] auth`.',
    hint: 'Send `Authorization: Bearer <token>`. `thermocline tap` and `thermocline top` send it when given the config with `-c`, or take it from `THERMOCLINE_API_TOKEN`. /health and /metrics need no token.',
  },
  TC_API_BAD_PATH: {
    title: 'The API answered 400: the request path has a malformed percent-escape.',
    hint: 'Encode the component id with `encodeURIComponent` (a `%` must be followed by two hex digits); `thermocline tap` does this for you.',
  },
  TC_API_TAP_DROPPED: {
    title: 'A /tap reader read slower than events flowed; the line `{"dropped": N}` counts the events it missed.',
    hint: 'Nothing is lost from the pipeline, only from this tap. Read faster, tap fewer events with `--sample`, or raise `[api] tap.max_buffer_bytes`. Counted in `thermocline_api_tap_dropped_events_total`.',
  },
});

/** The codes a configuration problem can carry. */
export type ConfigErrorCode = (typeof CORE_ERRORS)[
  'TC_CONFIG_SYNTAX' | 'TC_CONFIG_INVALID' | 'TC_CONFIG_READ' | 'TC_CONFIG_ENV' | 'TC_TOPOLOGY' | 'TC_PLUGIN_UNKNOWN_TYPE' | 'TC_PLUGIN_RENAMED' | 'TC_PLUGIN_LOAD'
];

export class ThermoclineError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ThermoclineError';
    this.code = code;
  }
  /** What to do, from the catalogue. */
  get hint(): string | undefined {
    return errorHint(this.code);
  }
}

/** A problem found while validating configuration, with its key path and, where known, its line. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** What kind of problem this is, given where the problem is found (a schema error is TC_CONFIG_INVALID). */
  code: ConfigErrorCode;
  line?: number;
  column?: number;
}

export class ConfigError extends ThermoclineError {
  readonly issues: ConfigIssue[];
  readonly file: string | undefined;
  constructor(code: ConfigErrorCode, issues: ConfigIssue[], file?: string) {
    super(code, formatIssues(issues, file));
    this.name = 'ConfigError';
    this.issues = issues;
    this.file = file;
  }
}

export function formatIssue(issue: ConfigIssue, file?: string): string {
  const where = [file, issue.line !== undefined ? String(issue.line) : undefined, issue.column !== undefined ? String(issue.column) : undefined]
    .filter((x) => x !== undefined)
    .join(':');
  const path = issue.path ? `${issue.path}: ` : '';
  return `${where ? `${where}: ` : ''}${path}${issue.message}`;
}

function formatIssues(issues: ConfigIssue[], file?: string): string {
  if (issues.length === 1) return formatIssue(issues[0] as ConfigIssue, file);
  return `${issues.length} problems:\n${issues.map((i) => `  - ${formatIssue(i, file)}`).join('\n')}`;
}

/**
 * Sinks classify their failures; the runtime owns retry, backoff and the queue (docs/ARCHITECTURE.md).
 * A retryable error leaves the batch queued and retries it with exponential backoff.
 */
export class RetryableError extends ThermoclineError {
  /** The destination asked to wait this long (e.g. HTTP `Retry-After`); the runtime waits at least that. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode; retryAfterMs?: number }) {
    super(options?.code ?? CORE_ERRORS.TC_SINK_RETRYABLE, message, options);
    this.name = 'RetryableError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A permanent error: retrying cannot help; the batch goes to the dead-letter table. */
export class PermanentError extends ThermoclineError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? CORE_ERRORS.TC_SINK_PERMANENT, message, options);
    this.name = 'PermanentError';
  }
}

export class QueueFullError extends ThermoclineError {
  constructor(sink: string) {
    super(CORE_ERRORS.TC_QUEUE_FULL, `the queue of sink "${sink}" is full`);
    this.name = 'QueueFullError';
  }
}

export class ShutdownError extends ThermoclineError {
  constructor() {
    super(CORE_ERRORS.TC_SHUTTING_DOWN, 'the agent is shutting down');
    this.name = 'ShutdownError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
