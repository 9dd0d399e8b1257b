/**
 * What the stores can hold, checked at the door: an item refused here is counted in the
 * response's `partial_success` with a reason, so the client knows; one accepted and then
 * refused by a sink would have been acknowledged as a success and dead-lettered. See the README,
 * "Refused items".
 *
 * Times: ClickHouse's DateTime64(6) holds 1900-01-01 00:00:00 to 2299-12-31 23:59:59.999999 UTC
 * (ClickHouse documentation, "DateTime64"); PostgreSQL's timestamptz holds far more (4713 BC to
 * 294276 AD), so the ClickHouse range is the one both stores share.
 */

export const MIN_TIME_US = Date.UTC(1900, 0, 1) * 1000;
export const MAX_TIME_US = Date.UTC(2300, 0, 1) * 1000 - 1;

/** Why `us` (microseconds since the epoch) cannot be stored, or '' when it can. */
export function timeProblem(us: number, field: string): string {
  if (!Number.isFinite(us)) return `${field} is not a finite time`;
  if (us < MIN_TIME_US || us > MAX_TIME_US) return `${field} ${us} µs is outside the storable range (1900-01-01 to 2299-12-31 UTC)`;
  return '';
}
