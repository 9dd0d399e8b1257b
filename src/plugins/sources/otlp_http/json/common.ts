import type { Labels } from '../../../../index.js';
import type { ItemLimits } from '../item-limits.js';
import { doubleText, jsonDouble, jsonInt, setKey, type ScopeInfo } from '../mapping.js';
import type { JsonObject, JsonReader } from './reader.js';

/** common.proto and resource.proto in OTLP/JSON, with the same text rules as the protobuf decoder. */

const MAX_DEPTH = 32;

/** An AnyValue object as attribute text: strings as they are, anything else JSON-encoded. */
export function anyValueText(j: JsonReader, v: JsonObject): string {
  if (j.get(v, 'stringValue', 'string_value') !== undefined) return j.string(v, 'stringValue', 'string_value');
  if (j.get(v, 'boolValue', 'bool_value') !== undefined) return j.bool(v, 'boolValue', 'bool_value') ? 'true' : 'false';
  if (j.get(v, 'intValue', 'int_value') !== undefined) return j.intText(v, 'intValue', 'int_value');
  if (j.get(v, 'doubleValue', 'double_value') !== undefined) return doubleText(j.double(v, 'doubleValue', 'double_value') as number);
  if (j.get(v, 'bytesValue', 'bytes_value') !== undefined) return j.string(v, 'bytesValue', 'bytes_value');
  const json = anyValueJson(j, v, 0);
  return json === null ? '' : JSON.stringify(json);
}

/** An AnyValue object as a JSON value; null when no value is set. */
export function anyValueJson(j: JsonReader, v: JsonObject, depth: number): unknown {
  if (depth > MAX_DEPTH) j.fail(`AnyValue nested deeper than ${MAX_DEPTH} levels`);
  if (j.get(v, 'stringValue', 'string_value') !== undefined) return j.string(v, 'stringValue', 'string_value');
  if (j.get(v, 'boolValue', 'bool_value') !== undefined) return j.bool(v, 'boolValue', 'bool_value');
  if (j.get(v, 'intValue', 'int_value') !== undefined) return jsonInt(j.intText(v, 'intValue', 'int_value'));
  if (j.get(v, 'doubleValue', 'double_value') !== undefined) return jsonDouble(j.double(v, 'doubleValue', 'double_value') as number);
  if (j.get(v, 'bytesValue', 'bytes_value') !== undefined) return j.string(v, 'bytesValue', 'bytes_value');
  const array = j.object(v, 'arrayValue', 'array_value', (a) => {
    const out: unknown[] = [];
    j.each(a, 'values', undefined, (item) => out.push(anyValueJson(j, item, depth + 1)));
    return out;
  });
  if (array !== undefined) return array;
  const map = j.object(v, 'kvlistValue', 'kvlist_value', (a) => {
    const out: Record<string, unknown> = {};
    j.each(a, 'values', undefined, (kv) => {
      const key = j.string(kv, 'key');
      setKey(out, key, j.object(kv, 'value', undefined, (value) => anyValueJson(j, value, depth + 1)) ?? null);
    });
    return out;
  });
  return map === undefined ? null : map;
}

/** A `repeated KeyValue` field into `into`, values as text, within the attribute limits (the first ones kept). */
export function attributes(j: JsonReader, o: JsonObject, camel: string, into: Labels, lim: ItemLimits): void {
  let seen = 0;
  j.each(o, camel, undefined, (kv) => {
    if (seen++ >= lim.maxAttributes) {
      lim.droppedAttributes++;
      return;
    }
    setKey(into, j.string(kv, 'key'), lim.value(j.object(kv, 'value', undefined, (v) => anyValueText(j, v)) ?? ''));
  });
}

export function resourceAttributes(j: JsonReader, o: JsonObject, lim: ItemLimits): Labels {
  const attrs: Labels = {};
  j.object(o, 'resource', undefined, (res) => attributes(j, res, 'attributes', attrs, lim));
  return attrs;
}

export function scopeInfo(j: JsonReader, o: JsonObject, lim: ItemLimits): ScopeInfo {
  const sc: ScopeInfo = { name: '', version: '', attrs: {} };
  j.object(o, 'scope', undefined, (s) => {
    sc.name = j.string(s, 'name');
    sc.version = j.string(s, 'version');
    attributes(j, s, 'attributes', sc.attrs, lim);
  });
  return sc;
}
