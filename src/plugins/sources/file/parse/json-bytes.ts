/**
 * Reads a flat JSON object line straight from the file's bytes, for the common case of a log
 * record whose values are strings, numbers, booleans and nulls. It builds only the strings the
 * event keeps: not the line, not a parsed record, and no new key strings while the keys repeat
 * the previous line's. Whatever it is not sure to read exactly as `JSON.parse` does (an escape, a
 * control character, a nested value, a key that repeats or starts with a digit, invalid JSON) it
 * declines, and the line takes the `JSON.parse` path. docs/performance.md#the-file-source-end-to-end-into-clickhouse.
 */
import { latin1, utf8 } from '../decode.js';

/** Most keys a line may have on this path; longer records take `JSON.parse`. */
const MAX_KEYS = 64;
/** Values up to this many bytes are compared with the previous line's before a new string is made. */
const REUSE_MAX = 32;

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `s` has exactly the bytes `data[start, end)` (ASCII only). */
function sameAscii(s: string | undefined, data: Buffer, start: number, end: number): s is string {
  if (s === undefined || s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== data[start + i]) return false;
  return true;
}

/** What a value of the line is, in `JsonBytes.types`. */
export const enum JsonType {
  String,
  /** A number whose text is what `String` makes of its value (a short integer): its bytes can stand for it. */
  CanonicalNumber,
  Number,
  True,
  False,
  Null,
}

export class JsonBytes {
  /** The keys of the line read last, in order; `values[i]` is the value of `keys[i]`. */
  readonly keys: string[] = [];
  /** With `strings`: the values. Without: the values `value(i)` was asked for (and older ones). */
  readonly values: Array<string | number | boolean | null> = [];
  /** Each value's type, and where it is in the line: a string's bytes between the quotes, a number's text. */
  readonly types = new Uint8Array(MAX_KEYS);
  readonly starts = new Int32Array(MAX_KEYS);
  readonly ends = new Int32Array(MAX_KEYS);
  private readonly numbers = new Float64Array(MAX_KEYS);
  count = 0;
  /** See `read`. */
  private distinct = 0;
  private data: Buffer = Buffer.alloc(0);
  private ascii = true;

  /**
   * Reads `data[start, end)` (one line, no newline). False when the line is not one this path
   * reads exactly; `keys` and `values` are then meaningless. `ascii`: the bytes are all ASCII
   * (otherwise valid UTF-8). `strings` false: the values are only located (`types`, `starts`,
   * `ends`), and `value(i)` makes one when it is needed.
   */
  read(data: Buffer, start: number, end: number, ascii: boolean, strings = true): boolean {
    const keys = this.keys;
    const values = this.values;
    const types = this.types;
    this.data = data;
    this.ascii = ascii;
    // `keys[0, distinct)` are the keys of the last line read whole, which were all different: while
    // this line's keys are the same ones in the same places, they need no check for repeats.
    let distinct = this.distinct;
    this.distinct = 0;
    let n = 0;
    let i = start;
    while (i < end && isWs(data[i] as number)) i++;
    if (data[i] !== 123 /* { */) return false;
    i++;
    while (i < end && isWs(data[i] as number)) i++;
    if (data[i] === 125 /* } */) {
      i++;
    } else {
      for (;;) {
        // The key: printable ASCII without escapes, not starting with a digit (JSON.parse puts
        // integer-like keys first, whatever their place in the line).
        if (data[i] !== 34 || n === MAX_KEYS) return false;
        const ks = ++i;
        while (i < end) {
          const c = data[i] as number;
          if (c === 34) break;
          if (c < 32 || c > 126 || c === 92) return false;
          i++;
        }
        if (i >= end || (i > ks && isDigit(data[ks] as number))) return false;
        let key = keys[n];
        if (!sameAscii(key, data, ks, i)) {
          key = latin1(data, ks, i);
          // A repeated key keeps its first place and last value in JSON.parse; `__proto__` is a
          // plain key there and would not be one in the labels.
          for (let j = 0; j < n; j++) if (keys[j] === key) return false;
          if (key === '__proto__') return false;
          keys[n] = key;
          if (distinct > n) distinct = n;
        } else if (n >= distinct) {
          for (let j = 0; j < n; j++) if (keys[j] === key) return false;
        }
        i++;
        while (i < end && isWs(data[i] as number)) i++;
        if (data[i] !== 58 /* : */) return false;
        i++;
        while (i < end && isWs(data[i] as number)) i++;
        if (i >= end) return false;
        const c = data[i] as number;
        if (c === 34) {
          const vs = ++i;
          while (i < end) {
            const d = data[i] as number;
            if (d === 34) break;
            if (d < 32 || d === 92) return false;
            i++;
          }
          if (i >= end) return false;
          types[n] = JsonType.String;
          this.starts[n] = vs;
          this.ends[n] = i;
          if (strings) values[n] = this.text(n, vs, i);
          i++;
        } else if (c === 45 /* - */ || isDigit(c)) {
          const end2 = this.number(data, i, end);
          if (end2 < 0) return false;
          types[n] = this.canonical ? JsonType.CanonicalNumber : JsonType.Number;
          this.starts[n] = i;
          this.ends[n] = end2;
          this.numbers[n] = this.numberValue;
          i = end2;
          if (strings) values[n] = this.numberValue;
        } else if (c === 116 && data[i + 1] === 114 && data[i + 2] === 117 && data[i + 3] === 101) {
          types[n] = JsonType.True;
          if (strings) values[n] = true;
          i += 4;
        } else if (c === 102 && data[i + 1] === 97 && data[i + 2] === 108 && data[i + 3] === 115 && data[i + 4] === 101) {
          types[n] = JsonType.False;
          if (strings) values[n] = false;
          i += 5;
        } else if (c === 110 && data[i + 1] === 117 && data[i + 2] === 108 && data[i + 3] === 108) {
          types[n] = JsonType.Null;
          if (strings) values[n] = null;
          i += 4;
        } else {
          return false; // a nested object or array, or not JSON
        }
        n++;
        while (i < end && isWs(data[i] as number)) i++;
        if (data[i] === 44 /* , */) {
          i++;
          while (i < end && isWs(data[i] as number)) i++;
          continue;
        }
        if (data[i] !== 125) return false;
        i++;
        break;
      }
    }
    while (i < end && isWs(data[i] as number)) i++;
    if (i !== end) return false;
    this.count = n;
    this.distinct = n;
    return true;
  }

  /** The value of the line's value `i` (read without `strings`), as `JSON.parse` makes it. */
  value(i: number): string | number | boolean | null {
    switch (this.types[i] as JsonType) {
      case JsonType.String:
        return (this.values[i] = this.text(i, this.starts[i] as number, this.ends[i] as number));
      case JsonType.CanonicalNumber:
      case JsonType.Number:
        return this.numbers[i] as number;
      case JsonType.True:
        return true;
      case JsonType.False:
        return false;
      default:
        return null;
    }
  }

  /**
   * The string of `data[vs, ve)`. A value equal to the one last made at this place (a service, a
   * level) is that string again. Only for ASCII lines: there a match of char codes and bytes is a
   * match of text.
   */
  private text(n: number, vs: number, ve: number): string {
    const previous = this.values[n];
    const data = this.data;
    if (!this.ascii) return utf8(data, vs, ve);
    return ve - vs <= REUSE_MAX && typeof previous === 'string' && sameAscii(previous, data, vs, ve) ? previous : latin1(data, vs, ve);
  }

  private numberValue = 0;
  /** Whether the number read last is written as `String` writes its value. */
  private canonical = false;

  /**
   * A JSON number from `i`: its end, or -1 when it is not one (JSON's grammar: no leading zeros,
   * digits on both sides of the point). Its value, in `numberValue`, is what JSON.parse makes of
   * it: a short integer computed directly, anything else through `Number` of its text (the same
   * correctly rounded conversion).
   */
  private number(data: Buffer, start: number, end: number): number {
    let i = start;
    if (data[i] === 45) i++;
    const intStart = i;
    if (data[i] === 48) i++;
    else {
      if (!isDigit(data[i] as number)) return -1;
      while (i < end && isDigit(data[i] as number)) i++;
    }
    const intEnd = i;
    if (data[i] === 46 /* . */) {
      i++;
      if (!isDigit(data[i] as number)) return -1;
      while (i < end && isDigit(data[i] as number)) i++;
    }
    if (data[i] === 101 || data[i] === 69 /* e E */) {
      i++;
      if (data[i] === 43 || data[i] === 45) i++;
      if (!isDigit(data[i] as number)) return -1;
      while (i < end && isDigit(data[i] as number)) i++;
    }
    if (i === intEnd && intEnd - intStart <= 15) {
      let v = 0;
      for (let j = intStart; j < intEnd; j++) v = v * 10 + ((data[j] as number) - 48);
      this.numberValue = intStart === start ? v : -v;
      this.canonical = v !== 0 || intStart === start; // "-0" is the number -0, which `String` writes as "0"
    } else {
      this.numberValue = Number(latin1(data, start, i));
      this.canonical = false;
    }
    return i;
  }
}
