import { defineErrorCodes, ThermoclineError } from '../core/errors.js';

/** The schema registry's user-facing codes (docs/errors.md is generated from them). */
export const REGISTRY_ERRORS = defineErrorCodes({
  TC_SCHEMA_INVALID: {
    title: 'A schema is not a valid JSON Schema (2020-12) for a business event, or its event type name is not allowed.',
    hint: 'The message lists each problem with its place in the schema. A schema must describe an object (`"type": "object"`); event types are lower-case words separated by dots, dashes or underscores (`checkout.completed`).',
  },
  TC_SCHEMA_TABLE_NAME: {
    title: 'The `x-thermocline` extension of a schema names a table or a column that is not a safe SQL identifier, or is reserved.',
    hint: 'Table and top-level property names of a schema with its own table must match `[a-z_][a-z0-9_]*` (at most 63 characters), must not start with `pg_` or name a Thermocline table, and properties must not be named like the fixed columns (`id`, `ts`, `type`, `service`, `severity`, `schema_version`).',
  },
  TC_SCHEMA_TOO_LARGE: {
    title: 'A schema has more properties or deeper nesting than the registry accepts.',
    hint: 'A schema may declare at most 1,000 properties in all and nest at most 32 levels. Split the event type, or keep a large free-form part as one object property without declared properties.',
  },
  TC_SCHEMA_INCOMPATIBLE: {
    title: 'A new version of a schema is not compatible with the latest registered one.',
    hint: 'Compatible changes add optional properties. The message names each field that was removed, changed type or became required. Register it as a new major version with `--force` (`force: true` over HTTP) if producers and readers are ready for it.',
  },
  TC_SCHEMA_CONFLICT: {
    title: 'Another gateway registered a version of the same event type at the same moment.',
    hint: 'Nothing was registered by this request. List the versions (`thermocline schemas list`), check that the other version is the one you want, and register again if yours is still needed.',
  },
  TC_SCHEMA_NOT_FOUND: {
    title: 'No schema is registered for this event type (or this version of it).',
    hint: '`thermocline schemas list` shows the registered types and versions.',
  },
  TC_SCHEMA_REGISTRY_UNREACHABLE: {
    title: 'The schema registry database cannot be read; validation uses the last schemas this agent saw.',
    hint: 'Events keep being validated against the schemas kept in the agent\'s state (the log says how many, and from when). Fix the connection to PostgreSQL (or run `thermocline migrate` if `schema_registry` is missing); the registry is read again by itself.',
  },
  TC_EVENT_INVALID: {
    title: 'An event was refused: a field is missing or malformed, or the payload does not match the schema of its type.',
    hint: 'The http_events response lists each refused event by index and type, with every problem and the JSON pointer of the field; other sources put the event in the dead-letter table with the schema version and every error (`thermocline dead-letter`). Fix the producer; the other events were queued.',
  },
  TC_EVENT_UNREGISTERED: {
    title: 'An event\'s type has no registered schema and the source\'s `unregistered` policy refuses or dead-letters such events.',
    hint: 'Register a schema for the type (`thermocline schemas register`, a file under `schemas`, or `POST /v1/schemas/<type>`), or set `unregistered = "accept"`.',
  },
  TC_SCHEMA_FILE: {
    title: 'A schema file named in the configuration cannot be read or registered.',
    hint: 'The message names the file. Schema files hold one JSON Schema each; the file name without `.json` is the event type (`schemas/checkout.completed.json`).',
  },
});

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

/** A registry refusal, with the fields or places it concerns when there are any. */
export class SchemaError extends ThermoclineError {
  constructor(
    code: RegistryErrorCode,
    message: string,
    /** One line per problem (a field path, a place in the schema), also part of `message`. */
    readonly problems: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(REGISTRY_ERRORS[code], problems.length === 0 ? message : `${message}:\n  - ${problems.join('\n  - ')}`, options);
    this.name = 'SchemaError';
  }
}
