/**
 * The schema registry of business events (docs/events.md): JSON Schema 2020-12 versions per event
 * type in PostgreSQL's `schema_registry`, compatibility rules, compiled validators and a gateway
 * cache kept current by LISTEN/NOTIFY. Components reach it through `src/index.ts`.
 */
export { REGISTRY_ERRORS, SchemaError } from './errors.js';
export type { RegistryErrorCode } from './errors.js';
export { EVENT_TYPE, checkEventType, compileSchema, topLevelProperties, versionString } from './compile.js';
export type { CompiledSchema, SchemaVersion, ValidationIssue } from './compile.js';
export { FIXED_COLUMNS, SAFE_IDENTIFIER } from './extension.js';
export type { EventStore, StorageExtension } from './extension.js';
export { MAX_PAYLOAD_DEPTH, MAX_SCHEMA_DEPTH, MAX_SCHEMA_PROPERTIES, escapePointer, tooDeep } from './limits.js';
export { describeIncompatibility, incompatibilities } from './compatibility.js';
export type { Incompatibility } from './compatibility.js';
export { REGISTRY_CHANNEL, canonicalJson, fingerprintOf, getSchema, latestSchemas, listSchemas, registerSchema } from './store.js';
export type { Queryable, RegisterOptions, RegisterResult, StoredSchema } from './store.js';
export { SchemaRegistry } from './registry.js';
export type { RegistryLogger, RegistryOrigin, SchemaRegistryOptions } from './registry.js';
export { EventAdmitter, admissionCounters } from './admission.js';
export type { Admission, AdmissionCounters, AdmissionOptions, CandidateEvent, EventProblem, RefusedEvent, UnregisteredPolicy } from './admission.js';
