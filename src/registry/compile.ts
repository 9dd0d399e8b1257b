/**
 * Event schemas compiled into validators: JSON Schema 2020-12 with Ajv (compiled to JavaScript, so
 * validating costs little more than walking the payload) and the formats of `ajv-formats`.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { SchemaError } from './errors.js';
import { type StorageExtension, storageExtension } from './extension.js';
import { checkSchemaSize, escapePointer, MAX_PAYLOAD_DEPTH, tooDeep } from './limits.js';

// ajv-formats is CommonJS with a default export that NodeNext sees as the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** `checkout.completed`, `deploy`, `user-signed_up.v2`. */
export const EVENT_TYPE = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
export const MAX_EVENT_TYPE_LENGTH = 128;

/** One problem with an event, located by the JSON pointer of the field in the event. */
export interface ValidationIssue {
  readonly pointer: string;
  readonly message: string;
}

export interface SchemaVersion {
  readonly major: number;
  readonly minor: number;
}

export const versionString = (v: SchemaVersion): string => `${v.major}.${v.minor}`;

/** A registered schema, ready to validate payloads. */
export interface CompiledSchema extends SchemaVersion {
  readonly type: string;
  readonly version: string;
  readonly schema: Record<string, unknown>;
  readonly storage: StorageExtension;
  /** Problems with `payload` (empty when it is valid); pointers start at `/payload`. */
  validate(payload: unknown): ValidationIssue[];
}

let shared: Ajv2020 | undefined;

/** One Ajv instance: schemas are compiled without being added to it (`addUsedSchema: false`). */
function ajv(): Ajv2020 {
  if (shared !== undefined) return shared;
  // allErrors: the response names every problem of an event, not the first one.
  const instance = new Ajv2020({ allErrors: true, strict: 'log', addUsedSchema: false, logger: false });
  addFormats(instance);
  instance.addKeyword({ keyword: 'x-thermocline', schemaType: 'object' });
  shared = instance;
  return instance;
}

export function checkEventType(type: unknown): string {
  if (typeof type !== 'string' || type.length > MAX_EVENT_TYPE_LENGTH || !EVENT_TYPE.test(type)) {
    throw new SchemaError(
      'TC_SCHEMA_INVALID',
      `event type ${JSON.stringify(type)} is not allowed: use lower-case words separated by dots, dashes or underscores, at most ${MAX_EVENT_TYPE_LENGTH} characters (e.g. "checkout.completed")`,
    );
  }
  return type;
}

/** Checks a schema document for registration (throws `SchemaError`) and compiles it. */
export function compileSchema(type: string, version: SchemaVersion, schema: unknown): CompiledSchema {
  checkEventType(type);
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new SchemaError('TC_SCHEMA_INVALID', `the schema of "${type}" must be a JSON object`);
  }
  const doc = schema as Record<string, unknown>;
  if (doc.type !== 'object') throw new SchemaError('TC_SCHEMA_INVALID', `the schema of "${type}" must describe an object: set "type": "object" at its top`);
  checkSchemaSize(doc);
  const properties = topLevelProperties(doc);
  const storage = storageExtension(doc, properties);
  let fn: ValidateFunction;
  try {
    fn = ajv().compile(doc);
  } catch (err) {
    const errors = (err as { errors?: ErrorObject[] }).errors;
    const problems = errors?.map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`) ?? [];
    const message = problems.length > 0 ? `the schema of "${type}" is not valid JSON Schema 2020-12` : `the schema of "${type}" cannot be compiled: ${(err as Error).message}`;
    throw new SchemaError('TC_SCHEMA_INVALID', message, problems, { cause: err });
  }
  return {
    type,
    major: version.major,
    minor: version.minor,
    version: versionString(version),
    schema: doc,
    storage,
    validate(payload) {
      const deep = tooDeep(payload);
      if (deep !== undefined) return [{ pointer: `/payload${deep}`, message: `nests deeper than ${MAX_PAYLOAD_DEPTH} levels` }];
      if (fn(payload)) return [];
      return (fn.errors ?? []).map(toIssue);
    },
  };
}

export function topLevelProperties(schema: Record<string, unknown>): string[] {
  const props = schema.properties;
  return typeof props === 'object' && props !== null && !Array.isArray(props) ? Object.keys(props) : [];
}

/** Ajv reports a missing or unexpected property on its parent: point at the property itself. */
function toIssue(e: ErrorObject): ValidationIssue {
  let pointer = `/payload${e.instancePath}`;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params.missingProperty === 'string') pointer += `/${escapePointer(params.missingProperty)}`;
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') pointer += `/${escapePointer(params.additionalProperty)}`;
  if (e.keyword === 'unevaluatedProperties' && typeof params.unevaluatedProperty === 'string') pointer += `/${escapePointer(params.unevaluatedProperty)}`;
  const message = e.keyword === 'required' ? 'is required' : e.keyword === 'additionalProperties' ? 'is not allowed by the schema' : (e.message ?? e.keyword);
  return { pointer, message };
}
