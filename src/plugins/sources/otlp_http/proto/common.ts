import type { Labels } from '../../../../index.js';
import type { ItemLimits } from '../item-limits.js';
import { doubleText, jsonDouble, jsonInt, setKey, type ScopeInfo } from '../mapping.js';
import { I64, LEN, MAX_DEPTH, ProtoError, VARINT, base64, enter, int64Text, keys, leave, skip, str, tag, values, type Reader } from './wire.js';

/*
 * opentelemetry/proto/common/v1/common.proto and resource/v1/resource.proto (opentelemetry-proto
 * v1.x; the field numbers are frozen by protobuf compatibility rules). The test
 * `proto.test.ts` encodes every field with the OpenTelemetry project's own generated code
 * (@opentelemetry/otlp-transformer) and checks that these decoders read each one back.
 */

// AnyValue: oneof value { string_value = 1; bool_value = 2; int_value = 3; double_value = 4;
//                        array_value = 5; kvlist_value = 6; bytes_value = 7; }
const ANY_STRING = tag(1, LEN);
const ANY_BOOL = tag(2, VARINT);
const ANY_INT = tag(3, VARINT);
const ANY_DOUBLE = tag(4, I64);
const ANY_ARRAY = tag(5, LEN);
const ANY_KVLIST = tag(6, LEN);
const ANY_BYTES = tag(7, LEN);
// ArrayValue { repeated AnyValue values = 1; }  KeyValueList { repeated KeyValue values = 1; }
const LIST_VALUES = tag(1, LEN);
// KeyValue { string key = 1; AnyValue value = 2; }
const KV_KEY = tag(1, LEN);
const KV_VALUE = tag(2, LEN);
// Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; repeated EntityRef entity_refs = 3; }
const RESOURCE_ATTRIBUTES = tag(1, LEN);
// InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
const SCOPE_NAME = tag(1, LEN);
const SCOPE_VERSION = tag(2, LEN);
const SCOPE_ATTRIBUTES = tag(3, LEN);

/** An AnyValue (the reader narrowed to it) as attribute text: strings as they are, the rest JSON-encoded. */
export function anyValueText(r: Reader, depth: number): string {
  let v = '';
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case ANY_STRING:
        v = values.read(r);
        break;
      case ANY_BOOL:
        v = r.bool() ? 'true' : 'false';
        break;
      case ANY_INT:
        v = int64Text(r);
        break;
      case ANY_DOUBLE:
        v = doubleText(r.double());
        break;
      case ANY_ARRAY:
      case ANY_KVLIST: {
        const outer = enter(r);
        v = JSON.stringify(t === ANY_ARRAY ? arrayJson(r, depth + 1) : kvlistJson(r, depth + 1));
        leave(r, outer);
        break;
      }
      case ANY_BYTES:
        v = base64(r);
        break;
      default:
        skip(r, t);
    }
  }
  return v;
}

/** An AnyValue as a JSON value (inside arrays and maps, and for non-string log bodies). */
function anyValueJson(r: Reader, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new ProtoError(`AnyValue nested deeper than ${MAX_DEPTH} levels`, r.pos);
  let v: unknown = null;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case ANY_STRING:
        v = str(r);
        break;
      case ANY_BOOL:
        v = r.bool();
        break;
      case ANY_INT:
        v = jsonInt(int64Text(r));
        break;
      case ANY_DOUBLE:
        v = jsonDouble(r.double());
        break;
      case ANY_ARRAY:
      case ANY_KVLIST: {
        const outer = enter(r);
        v = t === ANY_ARRAY ? arrayJson(r, depth + 1) : kvlistJson(r, depth + 1);
        leave(r, outer);
        break;
      }
      case ANY_BYTES:
        v = base64(r);
        break;
      default:
        skip(r, t);
    }
  }
  return v;
}

function arrayJson(r: Reader, depth: number): unknown[] {
  if (depth > MAX_DEPTH) throw new ProtoError(`AnyValue nested deeper than ${MAX_DEPTH} levels`, r.pos);
  const out: unknown[] = [];
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t !== LIST_VALUES) {
      skip(r, t);
      continue;
    }
    const outer = enter(r);
    out.push(anyValueJson(r, depth));
    leave(r, outer);
  }
  return out;
}

function kvlistJson(r: Reader, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new ProtoError(`AnyValue nested deeper than ${MAX_DEPTH} levels`, r.pos);
  const out: Record<string, unknown> = {};
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t !== LIST_VALUES) {
      skip(r, t);
      continue;
    }
    const outer = enter(r);
    let key = '';
    let value: unknown = null;
    while (r.pos < r.len) {
      const f = r.uint32();
      if (f === KV_KEY) key = str(r);
      else if (f === KV_VALUE) {
        const o = enter(r);
        value = anyValueJson(r, depth);
        leave(r, o);
      } else skip(r, f);
    }
    leave(r, outer);
    setKey(out, key, value);
  }
  return out;
}

/** One KeyValue (the reader positioned at its length prefix) into `into[key]` as text, cut to the value limit. */
export function keyValue(r: Reader, into: Labels, lim: ItemLimits): void {
  const outer = enter(r);
  let key = '';
  let value = '';
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === KV_KEY) key = keys.read(r);
    else if (t === KV_VALUE) {
      const o = enter(r);
      value = anyValueText(r, 0);
      leave(r, o);
    } else skip(r, t);
  }
  leave(r, outer);
  setKey(into, key, lim.value(value));
}

/**
 * The `seen + 1`-th attribute of one item: decoded while the item has fewer than the limit,
 * otherwise skipped undecoded (a span with a million attributes costs a skip each, not a
 * million label properties) and counted. Returns the item's count so far.
 */
export function attribute(r: Reader, into: Labels, seen: number, lim: ItemLimits): number {
  if (seen < lim.maxAttributes) {
    keyValue(r, into, lim);
    return seen + 1;
  }
  skip(r, LEN);
  lim.droppedAttributes++;
  return seen;
}

/** A Resource message into `attrs` (repeated occurrences merge, as protobuf requires). */
export function resource(r: Reader, attrs: Labels, lim: ItemLimits): void {
  const outer = enter(r);
  let seen = 0;
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === RESOURCE_ATTRIBUTES) seen = attribute(r, attrs, seen, lim);
    else skip(r, t);
  }
  leave(r, outer);
}

/** An InstrumentationScope message into `scope`. */
export function scope(r: Reader, into: ScopeInfo, lim: ItemLimits): void {
  const outer = enter(r);
  let seen = 0;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case SCOPE_NAME:
        into.name = str(r);
        break;
      case SCOPE_VERSION:
        into.version = str(r);
        break;
      case SCOPE_ATTRIBUTES:
        seen = attribute(r, into.attrs, seen, lim);
        break;
      default:
        skip(r, t);
    }
  }
  leave(r, outer);
}

/**
 * Decode the one message field `field` of every occurrence in the message the reader is
 * narrowed to, then rewind. Used to read a `resource` or `scope` before the items that need it,
 * whatever the order of fields on the wire.
 */
export function prescan(r: Reader, field: number, read: (r: Reader) => void): void {
  const start = r.pos;
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === field) read(r);
    else skip(r, t);
  }
  r.pos = start;
}
