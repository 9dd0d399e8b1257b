import { z } from 'zod';
import { byteSize } from '../../../index.js';
import { globProblem } from './glob.js';

const glob = z
  .string()
  .min(1)
  .superRefine((v, ctx) => {
    const problem = globProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const regex = z.string().superRefine((v, ctx) => {
  try {
    new RegExp(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
  }
});

/** One field name or a list of candidates; the first one present in a record wins. */
const fieldNames = (defaults: string[], what: string) =>
  z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .default(defaults)
    .transform((v) => (typeof v === 'string' ? [v] : v))
    .describe(`The record field holding ${what}: a name, or a list of names tried in order. Top-level fields only.`);

export const fileFieldsConfig = z
  .strictObject({
    timestamp: fieldNames(['timestamp', 'time', 'ts', '@timestamp'], 'the event time'),
    timestamp_format: z
      .enum(['auto', 'rfc3339', 'unix_s', 'unix_ms', 'unix_us', 'unix_ns'])
      .default('auto')
      .describe(
        'How to read the timestamp field. "auto" accepts RFC 3339 strings and epoch numbers, telling seconds, milliseconds, microseconds and nanoseconds apart by magnitude. A missing or unreadable timestamp falls back to the time the line was read.',
      ),
    level: fieldNames(
      ['level', 'severity', 'lvl'],
      'the level (normalized to lower case: "warning" becomes "warn", pino/bunyan numbers and syslog severities are mapped)',
    ),
    message: fieldNames(['message', 'msg'], 'the message; when none is present the whole line is the message'),
    service: fieldNames(['service', 'service.name'], 'the service name; when none is present the `service` option is used'),
    trace_id: fieldNames(['trace_id', 'traceId', 'trace.id'], 'the trace id (32 hex characters; other values stay in the labels)'),
    span_id: fieldNames(['span_id', 'spanId', 'span.id'], 'the span id (16 hex characters; other values stay in the labels)'),
  })
  .prefault({})
  .describe('For `format = "json"` and `"logfmt"`: which record fields become the log event\'s own fields. Every other field becomes a label, stringified.');

export const fileConfig = z.strictObject({
  include: z
    .array(glob)
    .min(1, 'needs at least one path or pattern')
    .describe(
      'Files to read: paths or glob patterns (`*`, `?`, `[a-z]`, `{a,b}`, and `**` for any number of directories). Relative patterns resolve against the working directory. Symbolic links to files are followed; symbolic links to directories are not walked into.',
    ),
  exclude: z.array(glob).default([]).describe('Patterns of files to leave out even though `include` matches them.'),
  read_from: z
    .enum(['beginning', 'end'])
    .default('beginning')
    .describe(
      'Where to start in files that exist when the source starts for the very first time (no checkpoint yet). Files that appear later, including while the agent was stopped, are always read from the beginning, so rotation never loses lines.',
    ),
  ignore_older_secs: z
    .number()
    .positive()
    .optional()
    .describe(
      'Leave out files not modified for this many seconds when they are discovered. Such a file is picked up (from its size at that time) once it is written to again.',
    ),
  glob_interval_secs: z
    .number()
    .positive()
    .default(5)
    .describe(
      'How often to rescan the directories for new, rotated and deleted files, as a safety net behind the file system watcher (which notices most changes at once).',
    ),
  format: z
    .enum(['plain', 'json', 'logfmt'])
    .default('plain')
    .describe(
      '"plain": each line is the message. "json": each line is a JSON object mapped through `fields`. "logfmt": `key=value` pairs mapped the same way. A line that does not parse is kept as a plain message and counted, never dropped.',
    ),
  fields: fileFieldsConfig,
  service: z.string().default('').describe('The `service` of events whose line does not name one.'),
  host: z.string().min(1).optional().describe("The `host` of every event; the machine's hostname when unset."),
  path_label: z
    .string()
    .default('file')
    .describe('The label that carries the path of the file a line came from; an empty string leaves it out. It replaces a record field of the same name.'),
  max_line_bytes: byteSize()
    .prefault('100KiB')
    .refine((v) => v >= 16 && v <= 64 * 1024 * 1024, 'must be between 16 bytes and 64 MiB')
    .describe('The longest line kept whole. Longer lines are handled by `on_long_line` and counted.'),
  on_long_line: z
    .enum(['truncate', 'skip'])
    .default('truncate')
    .describe(
      '"truncate": keep the first `max_line_bytes` bytes of an over-long line. "skip": drop it. Either way it is counted in `thermocline_file_long_lines_total`.',
    ),
  partial_line_timeout_secs: z
    .number()
    .nonnegative()
    .default(5)
    .describe(
      'A last line without its newline is held back until the newline arrives, or emitted as it is once the file has not grown for this long. 0 waits for the newline forever.',
    ),
  rotate_wait_secs: z
    .number()
    .nonnegative()
    .default(5)
    .describe(
      'After a file was renamed away (rotation) or deleted, keep reading it until it has not grown for this long, then close it. Writers that reopen their log late keep their last lines.',
    ),
  max_open_files: z
    .number()
    .int()
    .min(2)
    .default(256)
    .describe(
      'Most files the source holds open at once. With more matching files, each is read to its end (or a per-round byte budget) and the least recently active ones are closed, then reopened from their offsets when they grow, so every file is still read and the process keeps descriptors for its other work (the API, the queue database). Files rotated away stay open until finished.',
    ),
  fingerprint_bytes: z
    .number()
    .int()
    .min(16)
    .max(65_536)
    .default(1024)
    .describe(
      'How many leading bytes identify a file together with its device and inode, so that a reused inode is not mistaken for a file already read. Files shorter than this are read normally; their fingerprint grows with them.',
    ),
  multiline: z
    .strictObject({
      start_pattern: regex.describe(
        'A regular expression matching the first line of an event (e.g. `^\\d{4}-\\d{2}-\\d{2}`); lines that do not match are appended to the event before them.',
      ),
      timeout_secs: z.number().positive().default(1).describe('Emit a pending event when no line has been added to it for this long.'),
      max_bytes: byteSize()
        .prefault('1MiB')
        .refine((v) => v > 0, 'must be at least 1 byte')
        .describe('Emit a pending event once it holds this many bytes, starting a new one with the next line.'),
    })
    .optional()
    .describe('Joins continuation lines (stack traces) into one event, separated by newlines. Off unless `start_pattern` is set.'),
});

export type FileConfig = z.output<typeof fileConfig>;
export type FileFieldsConfig = z.output<typeof fileFieldsConfig>;
