/**
 * The registry as a gateway sees it: the latest version of every event type, compiled, kept up to
 * date, and saved in the agent's state so that a gateway that starts while the database is
 * unreachable still validates (docs/events.md#propagation).
 *
 * Propagation uses LISTEN/NOTIFY on a connection of its own: a registration commits its row and
 * its notification together, so every gateway on the database reloads within a round trip, with
 * no load on the database between changes. Notifications sent while that connection is down are
 * lost, so the registry also reloads every `pollIntervalMs` (30 s by default) and whenever the
 * listening connection comes back: a missed notification delays a new version, never loses it.
 */
import pg from 'pg';
import type { Json, StateStore } from '../core/plugin/types.js';
import { errorMessage } from '../core/errors.js';
import type { CompiledSchema } from './compile.js';
import { SchemaError } from './errors.js';
import { REGISTRY_CHANNEL, type RegisterOptions, type RegisterResult, type StoredSchema, compileStored, latestSchemas, registerSchema } from './store.js';

export interface RegistryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SchemaRegistryOptions {
  /** The pool of the database that holds `schema_registry` (a postgres sink's). */
  readonly pool: () => Promise<pg.Pool>;
  /** Where the last known schemas are kept between runs (the component's state). */
  readonly state?: StateStore;
  readonly logger: RegistryLogger;
  readonly pollIntervalMs?: number;
}

/** Where the schemas in use came from. */
export type RegistryOrigin = 'database' | 'state' | 'none';

const STATE_KEY = 'schema_registry';

interface Snapshot {
  saved_at: string;
  schemas: Array<{ type: string; major: number; minor: number; schema: Record<string, unknown>; fingerprint: string }>;
}

export class SchemaRegistry {
  private readonly compiled = new Map<string, { schema: CompiledSchema; fingerprint: string }>();
  private readonly listeners = new Set<(types: string[]) => void>();
  private listener: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private stopped = false;
  private unreachableLogged = false;
  origin: RegistryOrigin = 'none';

  constructor(private readonly o: SchemaRegistryOptions) {}

  /**
   * Reads the registry. When the database cannot be read, uses the schemas saved in the state and
   * says so; never throws for that: the registry keeps trying in the background.
   */
  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.reload();
    } catch (err) {
      this.useSavedSchemas(err);
    }
    await this.listen().catch(() => undefined);
    this.timer = setInterval(() => void this.tick(), this.o.pollIntervalMs ?? 30_000);
    this.timer.unref();
  }

  /** The latest version of `type`, compiled, or undefined when it is not registered. */
  get(type: string): CompiledSchema | undefined {
    return this.compiled.get(type)?.schema;
  }

  types(): string[] {
    return [...this.compiled.keys()].sort();
  }

  /** Called with the types whose latest version changed. */
  onChange(listener: (types: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers a version in the database and uses it here at once (others hear of it by NOTIFY). */
  async register(type: string, schema: unknown, options: RegisterOptions = {}): Promise<RegisterResult> {
    const pool = await this.o.pool();
    const client = await pool.connect();
    let result: RegisterResult;
    try {
      result = await registerSchema(client, type, schema, options);
    } finally {
      client.release();
    }
    this.apply([result.stored], false);
    return result;
  }

  /** Reads the latest version of every type; concurrent calls share one read (and one more after it). */
  reload(): Promise<void> {
    if (this.reloading !== undefined) {
      this.reloadAgain = true;
      return this.reloading;
    }
    const run = async (): Promise<void> => {
      do {
        this.reloadAgain = false;
        const pool = await this.o.pool();
        this.apply(await latestSchemas(pool), true);
      } while (this.reloadAgain && !this.stopped);
    };
    this.reloading = run().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.reloading?.catch(() => undefined);
  }

  private apply(rows: readonly StoredSchema[], complete: boolean): void {
    const changed: string[] = [];
    for (const row of rows) {
      const known = this.compiled.get(row.type);
      if (known?.fingerprint === row.fingerprint) continue;
      // A version only ever replaces an older one (a NOTIFY may arrive after a later reload).
      if (known !== undefined && (known.schema.major > row.major || (known.schema.major === row.major && known.schema.minor > row.minor))) continue;
      try {
        this.compiled.set(row.type, { schema: compileStored(row), fingerprint: row.fingerprint });
        changed.push(row.type);
      } catch (err) {
        // Registered by a newer agent with rules this one does not know: keep what we had.
        this.o.logger.error({ code: err instanceof SchemaError ? err.code : undefined, type: row.type, version: row.version }, `cannot compile a registered schema: ${errorMessage(err)}`);
      }
    }
    if (complete) {
      this.origin = 'database';
      if (this.unreachableLogged) this.o.logger.info({ types: this.compiled.size }, 'schema registry database reachable again');
      this.unreachableLogged = false;
    }
    if (changed.length > 0) {
      this.save();
      for (const listener of this.listeners) listener(changed);
    }
  }

  private save(): void {
    if (this.o.state === undefined) return;
    const snapshot: Snapshot = {
      saved_at: new Date().toISOString(),
      schemas: [...this.compiled.values()].map(({ schema: s, fingerprint }) => ({ type: s.type, major: s.major, minor: s.minor, schema: s.schema, fingerprint })),
    };
    this.o.state.set(STATE_KEY, snapshot as unknown as Json);
  }

  private useSavedSchemas(err: unknown): void {
    const saved = this.o.state?.get(STATE_KEY) as Snapshot | undefined;
    if (saved !== undefined && this.compiled.size === 0) {
      for (const s of saved.schemas) {
        try {
          this.compiled.set(s.type, { schema: compileStored(s), fingerprint: s.fingerprint });
        } catch {
          // A saved schema this version cannot compile is skipped; the database has the truth.
        }
      }
      this.origin = 'state';
    }
    this.unreachableLogged = true;
    this.o.logger.warn(
      { code: 'TC_SCHEMA_REGISTRY_UNREACHABLE', types: this.compiled.size, saved_at: saved?.saved_at ?? null },
      saved === undefined
        ? `schema registry database unreachable (${errorMessage(err)}) and no schemas saved: every event type counts as unregistered until it is reachable`
        : `schema registry database unreachable (${errorMessage(err)}): validating with the ${this.compiled.size} schemas last seen at ${saved.saved_at}`,
    );
  }

  private async listen(): Promise<void> {
    if (this.listener !== undefined || this.stopped) return;
    const pool = await this.o.pool();
    const client = new pg.Client(pool.options);
    client.on('error', () => {
      if (this.listener === client) this.listener = undefined;
      void client.end().catch(() => undefined);
    });
    client.on('notification', (msg) => {
      if (msg.channel === REGISTRY_CHANNEL) void this.reload().catch((err: unknown) => this.o.logger.warn({ err }, 'schema registry reload failed'));
    });
    await client.connect();
    await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.listener = client;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const wasListening = this.listener !== undefined;
    try {
      await this.listen();
      await this.reload();
    } catch (err) {
      if (!this.unreachableLogged) this.useSavedSchemas(err);
      return;
    }
    if (!wasListening) this.o.logger.info({}, 'listening for schema registry changes again');
  }
}
