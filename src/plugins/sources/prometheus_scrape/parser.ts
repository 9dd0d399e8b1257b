import { Role, resolveRole, type Family, type FamilyType } from './families.js';
import { parseTimestampUs, scanEnd, scanValue } from './numbers.js';

/**
 * A single-pass parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
 * It walks the body once with `indexOf`/`charCodeAt` (and one sticky regex that finds
 * the end of a metric name natively), and hands every sample to a `SampleSink` together with its
 * family and role, so that the mapper can group histograms without a second pass.
 *
 * Unlike Prometheus, which rejects a whole scrape at the first bad line, a malformed line is an
 * error for that line only: it is reported with its line number and the rest is kept.
 * Exemplars (` # {...} value`) are skipped; HELP and UNIT are read but not kept, since the event
 * model has no place for them.
 */

export type ExpositionFormat = 'prometheus_text' | 'openmetrics_text';

/** The labels of the current sample: parallel arrays reused from line to line (read, never keep). */
export class ParsedLabels {
  names: string[] = [];
  values: string[] = [];
  count = 0;

  indexOf(name: string): number {
    for (let i = 0; i < this.count; i++) if (this.names[i] === name) return i;
    return -1;
  }
}

export interface SampleSink {
  /**
   * One sample line. `timestampUs` is NaN when the line has none. Returns an error message when
   * the sample is unusable (the line is then reported as malformed), otherwise undefined.
   */
  sample(family: Family, role: Role, name: string, labels: ParsedLabels, value: number, timestampUs: number): string | undefined;
}

export interface LineError {
  line: number;
  message: string;
}

export interface ParseResult {
  /** Sample lines accepted by the parser and the sink. */
  samples: number;
  /** Lines reported as malformed (all of them, not only those in `errors`). */
  malformed: number;
  /** The first `MAX_KEPT_ERRORS` problems, for the log. */
  errors: LineError[];
}

export const MAX_KEPT_ERRORS = 20;

// Character classes of the exposition grammar, as bit flags indexed by char code (< 128).
const METRIC_START = 1;
const METRIC_PART = 2;
const LABEL_START = 4;
const LABEL_PART = 8;
const CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= 48 && c <= 57;
  if (alpha || c === 58) CHAR[c]! |= METRIC_START | METRIC_PART;
  if (digit) CHAR[c]! |= METRIC_PART | LABEL_PART;
  if (alpha) CHAR[c]! |= LABEL_START | LABEL_PART;
}
const is = (c: number, cls: number) => c < 128 && ((CHAR[c] as number) & cls) !== 0;
// Metric names are long (30-60 characters): a sticky regex finds their end natively, measured
// faster than a charCodeAt loop. `test` with `lastIndex` matches at that position only and leaves
// the end in `lastIndex` (no match array is allocated).
const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const isBlank = (c: number) => c === 32 || c === 9;

const TYPES: Record<string, FamilyType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  gaugehistogram: 'gaugehistogram',
  summary: 'summary',
  info: 'info',
  stateset: 'stateset',
  unknown: 'unknown',
  untyped: 'unknown',
};

const CHAR_HASH = 35;
const CHAR_QUOTE = 34;
const CHAR_BACKSLASH = 92;
const CHAR_BRACE_OPEN = 123;
const CHAR_BRACE_CLOSE = 125;
const CHAR_COMMA = 44;
const CHAR_EQUALS = 61;

/** Parse `text` and feed each sample to `sink`. */
export function parseExposition(text: string, format: ExpositionFormat, sink: SampleSink): ParseResult {
  return new ExpositionParser(text, format, sink).run();
}

/**
 * Cheap check that a body can be exposition text at all: one that starts like HTML, XML or JSON
 * cannot (a metric name or a `#` comes first), so the scrape fails instead of reporting every line.
 */
export function looksLikeExposition(text: string): boolean {
  for (let i = 0; i < text.length && i < 4096; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff) continue;
    return c !== 60 /* < */ && c !== 123 /* { */ && c !== 91; /* [ */
  }
  return true;
}

class ExpositionParser {
  private readonly labels = new ParsedLabels();
  private readonly families = new Map<string, Family>();
  private readonly implicit = new Map<string, Family>();
  private readonly resolved = new Map<string, { family: Family; role: Role }>();
  private current: Family | undefined;
  private readonly openMetrics: boolean;
  // Recently seen strings: exposition text repeats metric names, label names and label values from
  // line to line (every bucket of a histogram), so a hit saves an allocation and shares the string.
  private readonly recentNames: string[] = ['', '', '', ''];
  private recentNext = 0;
  private readonly labelNameCache: string[] = [];
  private readonly labelValueCache: string[] = [];
  // The family resolution of the last metric name.
  private lastName = '';
  private lastFamily: Family | undefined;
  private lastRole: Role = Role.Base;
  private error = '';
  private backslashAt = -1;
  private samples = 0;
  private malformed = 0;
  private readonly errors: LineError[] = [];

  constructor(
    private readonly text: string,
    format: ExpositionFormat,
    private readonly sink: SampleSink,
  ) {
    this.openMetrics = format === 'openmetrics_text';
  }

  run(): ParseResult {
    const text = this.text;
    const len = text.length;
    let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a UTF-8 byte order mark is not content
    let line = 0;
    let eofLine = 0;
    while (pos < len) {
      let next = text.indexOf('\n', pos);
      if (next < 0) next = len;
      line++;
      let end = next;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--; // tolerate CRLF
      let start = pos;
      while (start < end && isBlank(text.charCodeAt(start))) start++;
      pos = next + 1;
      if (start === end) continue; // blank line
      if (eofLine > 0) {
        this.fail(line, 'data after "# EOF"');
        continue;
      }
      const err = text.charCodeAt(start) === CHAR_HASH ? this.comment(start, end) : this.sampleLine(start, end);
      if (err === undefined) continue;
      if (err === EOF_SEEN) eofLine = line;
      else this.fail(line, err);
    }
    if (this.openMetrics && eofLine === 0) this.fail(line + 1, 'the OpenMetrics body does not end with "# EOF" (is it truncated?)');
    return { samples: this.samples, malformed: this.malformed, errors: this.errors };
  }

  private fail(line: number, message: string): void {
    this.malformed++;
    if (this.errors.length < MAX_KEPT_ERRORS) this.errors.push({ line, message });
  }

  /** A `#` line: HELP, TYPE, UNIT, OpenMetrics' EOF, or a plain comment (ignored). */
  private comment(start: number, end: number): string | undefined {
    const t = this.text;
    let i = start + 1;
    while (i < end && isBlank(t.charCodeAt(i))) i++;
    const ws = i;
    while (i < end && !isBlank(t.charCodeAt(i))) i++;
    const word = t.slice(ws, i);
    if (word === 'EOF' && this.openMetrics) return EOF_SEEN;
    if (word !== 'TYPE' && word !== 'HELP' && word !== 'UNIT') return undefined;
    while (i < end && isBlank(t.charCodeAt(i))) i++;
    const ns = i;
    if (i < end && is(t.charCodeAt(i), METRIC_START)) {
      i++;
      while (i < end && is(t.charCodeAt(i), METRIC_PART)) i++;
    }
    if (i === ns) return `expected a metric name after "# ${word}"`;
    if (word !== 'TYPE') return undefined; // HELP and UNIT text are documentation only
    const name = t.slice(ns, i);
    while (i < end && isBlank(t.charCodeAt(i))) i++;
    const ts = i;
    while (i < end && !isBlank(t.charCodeAt(i))) i++;
    const typeWord = t.slice(ts, i);
    const type = TYPES[typeWord];
    if (type === undefined) return `unknown metric type "${typeWord}" for "${name}"`;
    const family: Family = { name, type };
    this.families.set(name, family);
    this.current = family;
    this.lastName = '';
    this.resolved.clear(); // a new TYPE can change what earlier names resolve to
    return undefined;
  }

  private sampleLine(start: number, end: number): string | undefined {
    const t = this.text;
    METRIC_NAME.lastIndex = start;
    if (!METRIC_NAME.test(t)) return `expected a metric name, found ${excerpt(t, start, end)}`;
    let i = METRIC_NAME.lastIndex;
    const name = this.metricName(start, i);
    const labels = this.labels;
    labels.count = 0;
    while (i < end && isBlank(t.charCodeAt(i))) i++;
    if (i < end && t.charCodeAt(i) === CHAR_BRACE_OPEN) {
      i = this.parseLabels(i + 1, end);
      if (i < 0) return this.error;
    }
    while (i < end && isBlank(t.charCodeAt(i))) i++;
    if (i >= end) return `expected a value after "${name}"`;
    const vs = i;
    const value = scanValue(t, i, end);
    i = scanEnd;
    if (value === undefined) return `invalid value ${excerpt(t, vs, i)} of "${name}"`;
    while (i < end && isBlank(t.charCodeAt(i))) i++;
    let timestampUs = NaN;
    if (i < end && t.charCodeAt(i) !== CHAR_HASH) {
      const ts = i;
      while (i < end && !isBlank(t.charCodeAt(i))) i++;
      const us = parseTimestampUs(t, ts, i, this.openMetrics);
      if (us === undefined) {
        const unit = this.openMetrics ? 'seconds' : 'an integer of milliseconds';
        return `invalid timestamp ${excerpt(t, ts, i)} of "${name}" (expected ${unit})`;
      }
      timestampUs = us;
      while (i < end && isBlank(t.charCodeAt(i))) i++;
    }
    // What follows " # " is an OpenMetrics exemplar: skipped on purpose (no place in the event model).
    if (i < end && t.charCodeAt(i) !== CHAR_HASH) return `unexpected ${excerpt(t, i, end)} after the value of "${name}"`;
    if (name !== this.lastName) this.resolve(name);
    const err = this.sink.sample(this.lastFamily as Family, this.lastRole, name, labels, value, timestampUs);
    if (err === undefined) this.samples++;
    return err;
  }

  /**
   * Parse `name="value",...}` from just after `{`; returns the index after `}` or -1 (see `error`).
   * The end of a value is found with `indexOf`, which V8 runs natively (a charCodeAt loop over
   * every character measured 3x slower), and escapes are looked for only when a backslash lies
   * before that quote.
   */
  private parseLabels(i: number, end: number): number {
    const t = this.text;
    const labels = this.labels;
    let k = 0;
    for (;;) {
      while (i < end && isBlank(t.charCodeAt(i))) i++;
      if (i >= end) return this.labelError('the label set is not closed with "}"');
      let c = t.charCodeAt(i);
      if (c === CHAR_BRACE_CLOSE) return i + 1; // also after a trailing comma, and for "{}"
      if (!is(c, LABEL_START)) return this.labelError(`expected a label name, found ${excerpt(t, i, end)}`);
      // Most lines repeat the label names of the line before: compare with that name first
      // (reading the characters once) instead of scanning the name and then comparing it.
      let name = this.labelNameCache[k];
      const n = name === undefined ? 0 : name.length;
      let j = 0;
      if (name !== undefined) while (j < n && t.charCodeAt(i + j) === name.charCodeAt(j)) j++;
      if (name !== undefined && j === n && !is(t.charCodeAt(i + n), LABEL_PART)) {
        i += n;
      } else {
        const ns = i++;
        while (i < end && is(t.charCodeAt(i), LABEL_PART)) i++;
        name = t.slice(ns, i);
        this.labelNameCache[k] = name;
      }
      if (t.charCodeAt(i) === CHAR_EQUALS && t.charCodeAt(i + 1) === CHAR_QUOTE) {
        i += 1; // the common `name="`
      } else {
        while (i < end && isBlank(t.charCodeAt(i))) i++;
        if (i >= end || t.charCodeAt(i) !== CHAR_EQUALS) return this.labelError(`expected "=" after the label name "${name}"`);
        i++;
        while (i < end && isBlank(t.charCodeAt(i))) i++;
        if (i >= end || t.charCodeAt(i) !== CHAR_QUOTE) return this.labelError(`expected a quoted value for the label "${name}"`);
      }
      const vs = ++i;
      let close = t.indexOf('"', vs);
      let value: string;
      if (close >= 0 && close < end && this.nextBackslash(vs) > close) {
        value = this.cached(this.labelValueCache, k, vs, close);
      } else {
        // Escapes in this value (rare): find the closing quote that is not escaped.
        close = vs;
        while (close < end) {
          c = t.charCodeAt(close);
          if (c === CHAR_QUOTE) break;
          close += c === CHAR_BACKSLASH ? 2 : 1;
        }
        if (close >= end) return this.labelError(`the value of the label "${name}" has no closing quote`);
        value = unescapeLabelValue(t, vs, close);
      }
      labels.names[k] = name;
      labels.values[k] = value;
      labels.count = ++k;
      i = close + 1;
      c = t.charCodeAt(i);
      if (c === CHAR_COMMA) {
        i++;
        continue;
      }
      if (c === CHAR_BRACE_CLOSE) return i + 1;
      while (i < end && isBlank(t.charCodeAt(i))) i++;
      if (i < end) {
        c = t.charCodeAt(i);
        if (c === CHAR_COMMA) {
          i++;
          continue;
        }
        if (c === CHAR_BRACE_CLOSE) return i + 1;
      }
      return this.labelError(`expected "," or "}" after the value of the label "${name}"`);
    }
  }

  /** The position of the next backslash at or after `from` (or Infinity); amortised O(1), since `from` only grows. */
  private nextBackslash(from: number): number {
    if (this.backslashAt < from) {
      const at = this.text.indexOf('\\', from);
      this.backslashAt = at < 0 ? Infinity : at;
    }
    return this.backslashAt;
  }

  private labelError(message: string): number {
    this.error = message;
    return -1;
  }

  /**
   * `text.slice(start, end)`, or the string last seen at this label position when it is the same.
   * Short strings are compared in place (slicing them copies); long ones are sliced (a cheap view)
   * and compared natively.
   */
  private cached(cache: string[], k: number, start: number, end: number): string {
    const t = this.text;
    const prev = cache[k];
    const n = end - start;
    if (prev !== undefined && prev.length === n) {
      if (n < 13) {
        let j = 0;
        while (j < n && t.charCodeAt(start + j) === prev.charCodeAt(j)) j++;
        if (j === n) return prev;
      } else {
        const s = t.slice(start, end);
        if (s === prev) return prev;
        cache[k] = s;
        return s;
      }
    }
    const s = t.slice(start, end);
    cache[k] = s;
    return s;
  }

  private metricName(start: number, end: number): string {
    const s = this.text.slice(start, end);
    const recent = this.recentNames;
    for (let r = 0; r < recent.length; r++) if (recent[r] === s) return recent[r] as string;
    recent[this.recentNext] = s;
    this.recentNext = (this.recentNext + 1) % recent.length;
    return s;
  }

  /** Which family (from `# TYPE`) and role a sample name belongs to; untyped when none fits. */
  private resolve(name: string): void {
    this.lastName = name;
    const known = this.resolved.get(name);
    if (known !== undefined) {
      this.lastFamily = known.family;
      this.lastRole = known.role;
      return;
    }
    this.resolveUncached(name);
    this.resolved.set(name, { family: this.lastFamily as Family, role: this.lastRole });
  }

  private resolveUncached(name: string): void {
    const cur = this.current;
    if (cur !== undefined && name.startsWith(cur.name)) {
      const role = resolveRole(cur, name);
      if (role !== undefined) {
        this.lastFamily = cur;
        this.lastRole = role;
        return;
      }
    }
    const exact = this.families.get(name);
    if (exact !== undefined) {
      const role = resolveRole(exact, name);
      if (role !== undefined) {
        this.lastFamily = exact;
        this.lastRole = role;
        return;
      }
    }
    // A family declared earlier than the current one (samples out of place), by suffix.
    const us = name.lastIndexOf('_');
    if (us > 0) {
      const family = this.families.get(name.slice(0, us));
      const role = family && resolveRole(family, name);
      if (family !== undefined && role !== undefined) {
        this.lastFamily = family;
        this.lastRole = role;
        return;
      }
    }
    let family = this.implicit.get(name);
    if (family === undefined) {
      family = { name, type: 'unknown' };
      this.implicit.set(name, family);
    }
    this.lastFamily = family;
    this.lastRole = Role.Base;
  }
}

const EOF_SEEN = '\0eof';

/** Label value escapes of both formats: `\\`, `\"` and `\n`; any other backslash is kept as written (as Prometheus does). */
export function unescapeLabelValue(t: string, start: number, end: number): string {
  let out = '';
  let last = start;
  for (let j = start; j < end - 1; j++) {
    if (t.charCodeAt(j) !== CHAR_BACKSLASH) continue;
    const n = t.charCodeAt(j + 1);
    const rep = n === 110 ? '\n' : n === CHAR_BACKSLASH ? '\\' : n === CHAR_QUOTE ? '"' : undefined;
    if (rep === undefined) continue;
    out += t.slice(last, j) + rep;
    j++;
    last = j + 1;
  }
  return out + t.slice(last, end);
}

function excerpt(t: string, start: number, end: number): string {
  const s = t.slice(start, Math.min(end, start + 40));
  return JSON.stringify(end - start > 40 ? `${s}…` : s);
}
