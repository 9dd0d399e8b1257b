import pg from 'pg';
import type { Delivery, StateStore } from '../../../index.js';

/**
 * The exactly-once ledger `thermocline_batches (sink, seq, committed_at)`
 * (docs/storage.md#exactly-once-delivery): a delivery's COPYs and its row commit in one
 * transaction, and a delivery whose row exists is acknowledged without writing.
 *
 * A delivery's row is `(delivery.stream, delivery.position)`, i.e. `("<sink id>@<queue instance>",
 * first seq)`: the delivery's token split at its last colon. Every agent of a fleet runs the same
 * config, so many agents write as sink "pg" into one database, and their queue sequence numbers
 * can meet; the queue instance keeps one agent's batch from being taken for another's replay.
 *
 * A batch with an upstream identity (a bus message) is the opposite case: it must be taken for the
 * same batch whichever gateway of a pool writes it. Its row is `("<sink id>@origin:<origin>", 0)`,
 * the same on every agent (src/core/delivery.ts).
 */
/**
 * `BEGIN` and the delivery's ledger row (`ON CONFLICT DO NOTHING`) in one round trip (the simple query protocol runs both; it
 * has no parameters, so the values are literals). Each round trip is time the server has no rows
 * to work on, once per delivery (bench/postgres-sink.ts). Its second result's `rowCount` is 0 when
 * the row exists: the delivery was committed before.
 */
export function beginWithLedgerRow(delivery: Delivery): string {
  const { stream, position } = delivery;
  if (!Number.isSafeInteger(position)) throw new RangeError(`ledger position ${position} is not an integer`);
  return `BEGIN; INSERT INTO thermocline_batches (sink, seq) VALUES (${pg.escapeLiteral(stream)}, ${position}) ON CONFLICT (sink, seq) DO NOTHING`;
}

const LEDGER_CONTAINS = 'SELECT 1 FROM thermocline_batches WHERE sink = $1 AND seq = $2';

/**
 * Before deliveries carried their identity, the sink named its ledger rows `<sink id>/<random>`,
 * the random part kept in its state under this key. The delivery that was in flight when the
 * agent was upgraded may have been committed under that name; it must still be recognised when it
 * is replayed (test: ledger-upgrade.test.ts).
 */
const LEGACY_KEY = 'ledger_instance';

/** The row name a delivery was committed under by an older version, if this sink's state says there was one. */
export class LegacyLedger {
  private name: string | undefined;

  constructor(
    sinkId: string,
    private readonly state: StateStore,
  ) {
    const instance = state.get(LEGACY_KEY);
    this.name = typeof instance === 'string' && instance !== '' ? `${sinkId}/${instance}` : undefined;
  }

  get active(): boolean {
    return this.name !== undefined;
  }

  /** True when `delivery` was committed under the old name (so this is its replay). */
  async contains(client: pg.ClientBase, delivery: Delivery): Promise<boolean> {
    // Origins came after the old names: no old row can stand for one.
    if (this.name === undefined || delivery.origin !== undefined) return false;
    const { rowCount } = await client.query(LEDGER_CONTAINS, [this.name, delivery.first]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Called once a delivery missing from the old ledger has committed under the new name.
   * Deliveries are acknowledged in order, so every one older than it is acknowledged and every
   * later one is new: the old name is never needed again.
   */
  async retire(pool: pg.Pool): Promise<void> {
    const name = this.name;
    if (name === undefined) return;
    this.name = undefined;
    this.state.delete(LEGACY_KEY);
    await pool.query('DELETE FROM thermocline_batches WHERE sink = $1', [name]);
  }
}

/**
 * Deletes the stream's rows older than `retentionMs`, except its newest row: the delivery that can
 * be replayed is always the last one committed (deliveries are acknowledged in order), so it stays
 * recognisable after downtime of any length.
 */
export async function pruneLedger(pool: pg.Pool, stream: string, retentionMs: number): Promise<number> {
  const result = await pool.query(
    `DELETE FROM thermocline_batches
      WHERE sink = $1
        AND committed_at < now() - make_interval(secs => $2::double precision)
        AND seq < (SELECT max(seq) FROM thermocline_batches WHERE sink = $1)`,
    [stream, retentionMs / 1000],
  );
  return result.rowCount ?? 0;
}

/**
 * Deletes this sink's rows of deliveries named by an upstream identity (`<sink id>@origin:…`) older
 * than `retentionMs`. Each is a stream of one row, and they do not arrive in order, so there is no
 * newest row to keep: a copy of a bus message that reaches a store later than the retention (a
 * gateway brought back on its disk after that long) is written again. `ledger_retention` is the
 * window; docs/scaling.md sizes it.
 */
export async function pruneOriginLedger(pool: pg.Pool, sinkId: string, retentionMs: number): Promise<number> {
  const result = await pool.query(
    `DELETE FROM thermocline_batches
      WHERE starts_with(sink, $1)
        AND committed_at < now() - make_interval(secs => $2::double precision)`,
    [`${sinkId}@origin:`, retentionMs / 1000],
  );
  return result.rowCount ?? 0;
}
