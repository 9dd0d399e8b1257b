/**
 * The registration endpoint (docs/events.md#register-a-schema): `POST <schemas_path>/<type>`
 * (`?force=true` for a new major version) with the schema as the body, and `GET <schemas_path>`
 * for the types and versions this gateway validates with. Off unless a token is configured.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, SchemaError, type SchemaRegistry, bearerCheck, contentCoding, errorMessage, readBody } from '../../../index.js';
import type { HttpEventsConfig } from './config.js';
import { failure, reply } from './reply.js';

const MAX_SCHEMA_BYTES = 4 * 1024 * 1024;

const STATUS: Record<string, number> = {
  TC_SCHEMA_INVALID: 400,
  TC_SCHEMA_TABLE_NAME: 400,
  TC_SCHEMA_TOO_LARGE: 413,
  TC_SCHEMA_INCOMPATIBLE: 409,
  TC_SCHEMA_CONFLICT: 409,
  TC_SCHEMA_NOT_FOUND: 404,
};

export class SchemaApi {
  private readonly authorized: ((header: string | undefined) => boolean) | undefined;

  constructor(
    private readonly config: HttpEventsConfig,
    private readonly registry: () => SchemaRegistry | undefined,
    private readonly host: string,
  ) {
    this.authorized = bearerCheck(config.schema_api?.bearer_token);
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    if (this.authorized === undefined) return reply(res, 403, failure('TC_EVENTS_BAD_REQUEST', 'the schema endpoint is off: set schema_api.bearer_token on the source'));
    if (!this.authorized(req.headers.authorization)) {
      return reply(res, 401, failure('TC_EVENTS_BAD_REQUEST', 'missing or wrong bearer token (schema_api.bearer_token)'), { 'WWW-Authenticate': 'Bearer' });
    }
    const registry = this.registry();
    if (registry === undefined) return reply(res, 404, failure('TC_SCHEMA_NOT_FOUND', 'this source has no registry: set registry = "<postgres sink id>"'));
    const type = decodeURIComponent(path.slice(this.config.schemas_path.length + 1));
    if (req.method === 'GET') {
      if (type === '') return reply(res, 200, { origin: registry.origin, types: registry.types().map((t) => ({ type: t, version: registry.get(t)?.version })) });
      const schema = registry.get(type);
      return schema === undefined ? reply(res, 404, failure('TC_SCHEMA_NOT_FOUND', `no schema is registered for "${type}"`)) : reply(res, 200, { type, version: schema.version, schema: schema.schema });
    }
    if (req.method !== 'POST' || type === '') return reply(res, 405, failure('TC_EVENTS_BAD_REQUEST', `POST ${this.config.schemas_path}/<event type> with the schema as the body`), { Allow: 'GET, POST' });
    try {
      const body = await readBody(req, contentCoding(req.headers['content-encoding']) ?? 'identity', MAX_SCHEMA_BYTES);
      let schema: unknown;
      try {
        schema = JSON.parse(body.data.toString('utf8'));
      } catch (err) {
        return reply(res, 400, failure('TC_SCHEMA_INVALID', `the body is not valid JSON: ${errorMessage(err)}`));
      }
      const force = new URLSearchParams(query).get('force') === 'true';
      const result = await registry.register(type, schema, { force, by: `http:${this.host}` });
      return reply(res, result.unchanged ? 200 : 201, { type, version: result.stored.version, unchanged: result.unchanged, forced: result.forced });
    } catch (err) {
      if (err instanceof SchemaError) return reply(res, STATUS[err.code] ?? 400, { code: err.code, message: err.message, problems: err.problems });
      if (err instanceof HttpError) return reply(res, err.status, failure('TC_SCHEMA_INVALID', err.message));
      return reply(res, 503, failure('TC_SCHEMA_REGISTRY_UNREACHABLE', `the registry database cannot be written: ${errorMessage(err)}`), { 'Retry-After': String(this.config.retry_after_secs) });
    }
  }
}
