import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { StateStore } from '../../../core/plugin/types.js';

/**
 * The exactly-once ledger `thermocline_batches (sink, seq, committed_at)` (DESIGN §1): a delivery's
 * COPYs and its row commit in one transaction, and a delivery whose row exists is acknowledged
 * without writing.
 *
 * The `sink` column holds `<sink id>/<agent instance>`, not the bare sink id. Every agent of a
 * fleet runs the same config, so many agents write as sink "pg" into one database, and their queue
 * sequence numbers (each starting at its queue's creation time in microseconds, then counting up)
 * can meet: with the bare id, one agent's batch would be taken for another's replay and dropped.
 * The instance is a random id kept in the sink's persistent state, which lives in the queue
 * database itself: it changes exactly when the queue (and so the sequence) starts over.
 */
const INSTANCE_KEY = 'ledger_instance';

export function ledgerName(sinkId: string, state: StateStore): string {
  let instance = state.get(INSTANCE_KEY);
  if (typeof instance !== 'string' || instance === '') {
    instance = randomBytes(8).toString('hex');
    state.set(INSTANCE_KEY, instance);
  }
  return `${sinkId}/${instance}`;
}

export const LEDGER_INSERT = 'INSERT INTO thermocline_batches (sink, seq) VALUES ($1, $2) ON CONFLICT (sink, seq) DO NOTHING';

/**
 * Deletes the sink's rows older than `retentionMs`, except its newest row: the delivery that can be
 * replayed is always the last one committed (deliveries are acknowledged in order), so it stays
 * recognisable after downtime of any length.
 */
export async function pruneLedger(pool: pg.Pool, name: string, retentionMs: number): Promise<number> {
  const result = await pool.query(
    `DELETE FROM thermocline_batches
      WHERE sink = $1
        AND committed_at < now() - make_interval(secs => $2::double precision)
        AND seq < (SELECT max(seq) FROM thermocline_batches WHERE sink = $1)`,
    [name, retentionMs / 1000],
  );
  return result.rowCount ?? 0;
}
