/**
 * Errors users see carry a stable code and a hint saying what to do. Every code is listed in
 * `ERROR_CATALOGUE`; `docs/errors.md` is generated from it and a test fails when it is stale.
 */

export interface ErrorEntry {
  /** One line: what went wrong. */
  title: string;
  /** What the user can do about it. */
  hint: string;
}

export const ERROR_CATALOGUE = {
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
  TC_API_LISTEN: {
    title: 'The API server cannot listen on its address.',
    hint: 'Another process uses the port, or the address is wrong: change `[api] address` or set `[api] enabled = false`.',
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Additional codes contributed by plugins and storage modules register here at import time. */
const extraCodes = new Map<string, ErrorEntry>();

export function registerErrorCodes(entries: Record<string, ErrorEntry>): void {
  for (const [code, entry] of Object.entries(entries)) extraCodes.set(code, entry);
}

export function allErrorCodes(): Array<[string, ErrorEntry]> {
  return [...Object.entries(ERROR_CATALOGUE), ...extraCodes.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export class ThermoclineError extends Error {
  readonly code: string;
  constructor(code: ErrorCode | (string & {}), message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ThermoclineError';
    this.code = code;
  }
  /** What to do, from the catalogue. */
  get hint(): string | undefined {
    return (ERROR_CATALOGUE as Record<string, ErrorEntry>)[this.code]?.hint ?? extraCodes.get(this.code)?.hint;
  }
}

/** A problem found while validating configuration, with its key path and, where known, its line. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** The catalogue code of this problem, when it is not a plain schema error. */
  code?: string;
  line?: number;
  column?: number;
}

export class ConfigError extends ThermoclineError {
  readonly issues: ConfigIssue[];
  readonly file: string | undefined;
  constructor(code: 'TC_CONFIG_SYNTAX' | 'TC_CONFIG_INVALID' | 'TC_CONFIG_READ' | 'TC_CONFIG_ENV' | 'TC_TOPOLOGY' | 'TC_PLUGIN_UNKNOWN_TYPE' | 'TC_PLUGIN_LOAD', issues: ConfigIssue[], file?: string) {
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
 * Sinks classify their failures; the runtime owns retry, backoff and the queue (STYLE 7).
 * A retryable error leaves the batch queued and retries it with exponential backoff.
 */
export class RetryableError extends ThermoclineError {
  /** The destination asked to wait this long (e.g. HTTP `Retry-After`); the runtime waits at least that. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; code?: string; retryAfterMs?: number }) {
    super(options?.code ?? 'TC_SINK_RETRYABLE', message, options);
    this.name = 'RetryableError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A permanent error: retrying cannot help; the batch goes to the dead-letter table. */
export class PermanentError extends ThermoclineError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'TC_SINK_PERMANENT', message, options);
    this.name = 'PermanentError';
  }
}

export class QueueFullError extends ThermoclineError {
  constructor(sink: string) {
    super('TC_QUEUE_FULL', `the queue of sink "${sink}" is full`);
    this.name = 'QueueFullError';
  }
}

export class ShutdownError extends ThermoclineError {
  constructor() {
    super('TC_SHUTTING_DOWN', 'the agent is shutting down');
    this.name = 'ShutdownError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
