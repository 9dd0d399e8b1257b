import { defineSource, PostgresConnection } from '../../../index.js';
import { HTTP_EVENTS_ERRORS } from './errors.js';
import { httpEventsConfig } from './config.js';
import { HttpEventsSource } from './source.js';

/**
 * Business events over HTTP (docs/events.md): `POST /v1/events` with JSON or NDJSON, validated
 * against the schema registry before they are queued, answered only once they are durable.
 */
export default defineSource({
  type: 'http_events',
  summary: 'Receives business events over HTTP (JSON or NDJSON) and validates them against the schema registry.',
  config: httpEventsConfig,
  errors: HTTP_EVENTS_ERRORS,
  example: { address: '127.0.0.1:18688' },
  validate(config) {
    const issues = [];
    if (config.schemas.length > 0 && config.registry === undefined) issues.push({ path: ['schemas'], message: 'schema files are registered in the registry: set registry = "<postgres sink id>"' });
    if (config.path === config.schemas_path) issues.push({ path: ['schemas_path'], message: 'must differ from path' });
    return issues;
  },
  uses: (config) => (config.registry === undefined ? [] : [{ key: PostgresConnection, from: config.registry }]),
  create(config, ctx) {
    return new HttpEventsSource(config, ctx);
  },
});
