import type pg from 'pg';
import type { MigrationParams, PgFlavour } from '../../../storage/index.js';

/**
 * What a `postgres` sink publishes (`ctx.publish`) for components that reuse its connection, such
 * as the rollup exporter (`postgres = "<sink id>"`, docs/plugins.md#shared-resources). The
 * consumer finds it with `ctx.lookup(sinkId)` and should declare the sink in `dependsOn` so that
 * it starts after the sink and stops before it.
 *
 * It is published in `create`, so it is usable before the sink's `start()` has finished: the first
 * call to `pool()` or `flavour()` connects (and migrates, with `migrate = true`), sharing the
 * attempt with the sink's own start. A failed attempt is retried by the next call. Failed writes of
 * the sink never end the pool: node-postgres drops broken connections and opens new ones.
 */
export interface PostgresHandle {
  readonly kind: 'postgres';
  /** The id of the sink that owns the pool. */
  readonly sink: string;
  /**
   * The sink's pool, once connected and migrated. Borrow connections (`pool.connect()` /
   * `client.release()`, or `pool.query`); never `end()` it: the sink owns it.
   */
  pool(): Promise<pg.Pool>;
  /** `'timescaledb'` (hypertables, continuous aggregate) or `'plain'` (daily partitions, `metrics_1m` table). */
  flavour(): Promise<PgFlavour>;
  /** The migration parameters the sink applies: retention, refresh window of `metrics_1m`, foreign key. */
  readonly params: Readonly<MigrationParams>;
}
