/**
 * Typed access to a parsed OTLP/JSON request (OTLP specification, "JSON Protobuf Encoding"):
 * lowerCamelCase keys (the original snake_case names are accepted too, as protobuf JSON parsers
 * and the Collector do), 64-bit integers as decimal strings or numbers, enums as integers (or
 * their names), `null` meaning "not set". A value of the wrong type throws `JsonShapeError`
 * naming its path, e.g. `resourceSpans[0].scopeSpans[0].spans[2].name: expected a string`.
 */

export type JsonObject = Record<string, unknown>;

export class JsonShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonShapeError';
  }
}

const INTEGER = /^-?\d+$/;
const HEX = /^[0-9a-fA-F]*$/;

export class JsonReader {
  private readonly path: Array<string | number> = [];

  fail(message: string, key?: string): never {
    let where = '';
    for (const p of key === undefined ? this.path : [...this.path, key]) where += typeof p === 'number' ? `[${p}]` : where === '' ? p : `.${p}`;
    throw new JsonShapeError(`${where || 'body'}: ${message}`);
  }

  /** The value under `camel` (or `snake`); undefined when absent or null. */
  get(o: JsonObject, camel: string, snake?: string): unknown {
    const v = o[camel] ?? (snake === undefined ? undefined : o[snake]);
    return v === null ? undefined : v;
  }

  /** The root of the request: a JSON object. */
  root(v: unknown): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail('expected a JSON object');
    return v as JsonObject;
  }

  /** Run `each` on every object of the array under `camel`, with its index on the path. */
  each(o: JsonObject, camel: string, snake: string | undefined, each: (item: JsonObject) => void): void {
    const v = this.get(o, camel, snake);
    if (v === undefined) return;
    if (!Array.isArray(v)) this.fail('expected an array', camel);
    this.path.push(camel);
    for (let i = 0; i < v.length; i++) {
      this.path.push(i);
      const item: unknown = v[i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) this.fail('expected an object');
      each(item as JsonObject);
      this.path.pop();
    }
    this.path.pop();
  }

  /** The objects of the array under `camel`, one at a time, with each index on the path while it is in use. */
  *items(o: JsonObject, camel: string, snake?: string): Generator<JsonObject, void, void> {
    const v = this.get(o, camel, snake);
    if (v === undefined) return;
    if (!Array.isArray(v)) this.fail('expected an array', camel);
    this.path.push(camel);
    for (let i = 0; i < v.length; i++) {
      this.path.push(i);
      const item: unknown = v[i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) this.fail('expected an object');
      yield item as JsonObject;
      this.path.pop();
    }
    this.path.pop();
  }

  /** `read` on each object of the array under `camel`; none when it is absent. */
  map<T>(o: JsonObject, camel: string, read: (item: JsonObject) => T): T[] {
    const out: T[] = [];
    this.each(o, camel, undefined, (item) => out.push(read(item)));
    return out;
  }

  /** Run `read` on the object under `camel`, if present. */
  object<T>(o: JsonObject, camel: string, snake: string | undefined, read: (item: JsonObject) => T): T | undefined {
    const v = this.get(o, camel, snake);
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail('expected an object', camel);
    this.path.push(camel);
    const result = read(v as JsonObject);
    this.path.pop();
    return result;
  }

  string(o: JsonObject, camel: string, snake?: string): string {
    const v = this.get(o, camel, snake);
    if (v === undefined) return '';
    if (typeof v !== 'string') this.fail('expected a string', camel);
    return v;
  }

  bool(o: JsonObject, camel: string, snake?: string): boolean {
    const v = this.get(o, camel, snake);
    if (v === undefined) return false;
    if (typeof v !== 'boolean') this.fail('expected true or false', camel);
    return v;
  }

  /** A 32- or 64-bit integer written as a number or a decimal string. */
  int(o: JsonObject, camel: string, snake?: string): number {
    const v = this.get(o, camel, snake);
    if (v === undefined) return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && INTEGER.test(v)) return Number(v);
    return this.fail('expected an integer (a number or a decimal string)', camel);
  }

  /** An int64 as exact, canonical decimal text. */
  intText(o: JsonObject, camel: string, snake?: string): string {
    const v = this.get(o, camel, snake);
    if (typeof v === 'number' && Number.isInteger(v)) return String(v);
    if (typeof v === 'string' && INTEGER.test(v)) return BigInt(v).toString();
    return this.fail('expected an integer (a number or a decimal string)', camel);
  }

  /** A double: a number, or "NaN", "Infinity", "-Infinity" or a numeric string as protobuf JSON allows. */
  double(o: JsonObject, camel: string, snake?: string): number | undefined {
    const v = this.get(o, camel, snake);
    if (v === undefined) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v.trim() !== '') {
      const n = Number(v);
      if (!Number.isNaN(n) || v === 'NaN') return n;
    }
    return this.fail('expected a number', camel);
  }

  /** An enum: its integer value, or its name from `names`. */
  enumValue(o: JsonObject, camel: string, snake: string | undefined, names: Record<string, number>): number {
    const v = this.get(o, camel, snake);
    if (v === undefined) return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && names[v] !== undefined) return names[v];
    return this.fail('expected an enum value (an integer)', camel);
  }

  /**
   * Nanoseconds since the epoch as whole microseconds plus the remaining nanoseconds (`rest`),
   * exactly, from a decimal string (a JSON number above 2^53 has already lost precision).
   */
  timeUs(o: JsonObject, camel: string, snake: string, rest?: { value: number }): number {
    const v = this.get(o, camel, snake);
    if (v === undefined) {
      if (rest) rest.value = 0;
      return 0;
    }
    let us: number;
    let ns: number;
    if (typeof v === 'string' && INTEGER.test(v) && v[0] !== '-') {
      us = v.length > 3 ? Number(v.slice(0, -3)) : 0;
      ns = Number(v.slice(-3));
    } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
      us = Math.floor(v / 1000);
      ns = v - us * 1000;
    } else {
      return this.fail('expected a timestamp in nanoseconds (a decimal string or a number)', camel);
    }
    if (rest) rest.value = ns < 0 ? 0 : ns;
    return us;
  }

  /** A trace or span id in hex (OTLP/JSON deviates from protobuf JSON here: not base64), lower-cased; undefined if not hex. */
  hex(o: JsonObject, camel: string, snake: string): string | undefined {
    const v = this.string(o, camel, snake);
    return HEX.test(v) ? v.toLowerCase() : undefined;
  }

  /** A bytes value: base64 text, kept as it is. */
  bytes(o: JsonObject, camel: string): string {
    return this.string(o, camel);
  }

  /** A repeated integer field (bucket counts): numbers or decimal strings. */
  ints(o: JsonObject, camel: string, snake?: string): number[] {
    return this.numbers(
      o,
      camel,
      snake,
      (v) => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && INTEGER.test(v) ? Number(v) : undefined),
      'an integer',
    );
  }

  /** A repeated double field (histogram bounds). */
  doubles(o: JsonObject, camel: string, snake?: string): number[] {
    return this.numbers(
      o,
      camel,
      snake,
      (v) => (typeof v === 'number' ? v : typeof v === 'string' && (v === 'NaN' || !Number.isNaN(Number(v))) && v.trim() !== '' ? Number(v) : undefined),
      'a number',
    );
  }

  private numbers(o: JsonObject, camel: string, snake: string | undefined, parse: (v: unknown) => number | undefined, what: string): number[] {
    const v = this.get(o, camel, snake);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail('expected an array', camel);
    const out: number[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const n = parse(v[i]);
      if (n === undefined) this.fail(`expected ${what}`, `${camel}[${i}]`);
      out[i] = n;
    }
    return out;
  }
}
