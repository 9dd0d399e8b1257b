import type pg from 'pg';
import { classify, sqlStateOf } from './classify.js';
import { copyIsolating, copyRows, copyStream, FOREIGN_KEY_VIOLATION } from './copy.js';
import type { Delivery } from './delivery.js';
import { beginWithLedgerRow, type LegacyLedger } from './ledger.js';
import type { Delivery as DeliveryIdentity } from '../../../index.js';

export type CommitOutcome = 'written' | 'replayed';

export interface CommitOptions {
  /** Which delivery this is: its ledger row is `(identity.stream, identity.position)` (ledger.ts). */
  readonly identity: DeliveryIdentity;
  /** The ledger name of an older version, still checked for the delivery in flight at the upgrade. */
  readonly legacy?: LegacyLedger;
  /**
   * Called with the first data error, before rows are isolated; may throw to retry the delivery
   * instead (a partition dropped under the sink).
   */
  readonly beforeIsolating?: (err: unknown) => Promise<void>;
  /**
   * Called once every event is planned, before the COMMIT (and before rows are isolated): writes
   * that are idempotent on their own and need the whole delivery (typed tables, on another
   * connection). A commit that turns to isolating rows may call it twice.
   */
  readonly planned?: () => Promise<unknown>;
}

/**
 * Commits one delivery: the ledger row and the COPYs into every table in one
 * transaction. The ledger row goes first: if it already exists the delivery was committed before
 * (a replay after a crash, or a retry whose COMMIT reply was lost) and nothing is written.
 *
 * The fast path runs one COPY per table, metrics_points streamed as it is planned. A data error
 * aborts that transaction; the delivery is then written again in a new one where rows are isolated
 * under savepoints (rows the server rejects go to `delivery.plan.rejected`), and the ledger row
 * commits with the good rows.
 */
export async function commitDelivery(pool: pg.Pool, delivery: Delivery, o: CommitOptions): Promise<CommitOutcome> {
  const client = await pool.connect();
  // A connection that fails while checked out emits 'error'; unhandled, that would end the process.
  // The query in flight (or the next one) reports the failure.
  const ignore = () => undefined;
  client.on('error', ignore);
  let broken = false;
  const { plan } = delivery;
  try {
    try {
      return await inLedgerTransaction(client, o, async () => {
        if (delivery.hasPoints()) await copyStream(client, plan.points.copySql, delivery.streamPoints());
        await delivery.complete();
        await o.planned?.();
        await copyRows(client, plan.histograms, delivery.live(plan.histograms));
        await copyRows(client, plan.events, delivery.live(plan.events));
      });
    } catch (err) {
      if (classify(err) !== 'data' || sqlStateOf(err) === FOREIGN_KEY_VIOLATION) throw err;
      await delivery.complete();
      await o.planned?.();
      await o.beforeIsolating?.(err);
      return await inLedgerTransaction(client, o, async () => {
        for (const rows of delivery.tables) {
          await copyIsolating(client, rows, delivery.live(rows), (row, reason) => plan.rejected.set(rows.eventIndex[row] as number, reason));
        }
      });
    }
  } catch (err) {
    // Whatever state the connection is in now, a fresh one is cheaper than finding out.
    broken = true;
    throw err;
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}

async function inLedgerTransaction(client: pg.PoolClient, o: CommitOptions, body: () => Promise<void>): Promise<CommitOutcome> {
  const begin = beginWithLedgerRow(o.identity);
  try {
    // A simple query of two statements answers with one result each; the INSERT's is the second.
    const results: unknown = await client.query(begin);
    const inserted = Array.isArray(results) ? (results[1] as pg.QueryResult | undefined)?.rowCount : undefined;
    if (typeof inserted !== 'number') throw new Error('the ledger INSERT gave no row count');
    if (inserted === 0 || (await o.legacy?.contains(client, o.identity))) {
      await client.query('ROLLBACK');
      return 'replayed';
    }
    await body();
    await client.query('COMMIT');
    return 'written';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
