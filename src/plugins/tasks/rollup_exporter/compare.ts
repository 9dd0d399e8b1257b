/**
 * The comparison the exporter's guarantee is stated in: PostgreSQL `metrics_1m` against ClickHouse
 * `metrics_1m FINAL` over a range of buckets, row by row, values compared as IEEE 754 bit patterns
 * (any NaN equals any NaN: PostgreSQL prints every NaN as `NaN`). Used by the tests, the benchmark
 * and `thermocline export-rollups --verify`.
 */
import type { ChEndpoint, PgEndpoint } from './endpoints.js';
import { canonicalLabelsFromJsonb } from './rows.js';
import { floorMinute } from './pg-source.js';

export interface RollupRow {
  /** Epoch seconds. */
  readonly bucket: number;
  readonly metric_name: string;
  /** Canonical JSON. */
  readonly labels: string;
  /** 16 hex digits, big-endian bits of avg_v, max_v, min_v (NaN normalised). */
  readonly avg: string;
  readonly max: string;
  readonly min: string;
}

export interface Difference {
  readonly key: string;
  readonly postgres: RollupRow | undefined;
  readonly clickhouse: RollupRow | undefined;
}

export interface Comparison {
  readonly postgresRows: number;
  readonly clickhouseRows: number;
  /** Every key whose row is missing on one side or differs; `examples` holds the first ones. */
  readonly differences: number;
  readonly examples: Difference[];
}

const CANONICAL_NAN = '7ff8000000000000';

/** A NaN (exponent all ones, mantissa not zero) of any sign or payload reads as the one NaN. */
export function normaliseBits(hex: string): string {
  const bits = BigInt(`0x${hex}`);
  const exponent = (bits >> 52n) & 0x7ffn;
  const mantissa = bits & 0xfffffffffffffn;
  return exponent === 0x7ffn && mantissa !== 0n ? CANONICAL_NAN : hex.toLowerCase().padStart(16, '0');
}

const keyOf = (r: RollupRow) => `${r.bucket}\u0000${r.metric_name}\u0000${r.labels}`;

export async function readPostgresRollups(pg: PgEndpoint, from: number, to: number): Promise<RollupRow[]> {
  const { rows } = await pg.pool.query<{ b: number; metric_name: string; labels: string; a: string; x: string; n: string }>(
    `SELECT date_part('epoch', bucket)::int8 AS b, metric_name, labels::text AS labels,
            encode(float8send(avg_v), 'hex') AS a, encode(float8send(max_v), 'hex') AS x, encode(float8send(min_v), 'hex') AS n
       FROM metrics_1m WHERE bucket >= $1 AND bucket < $2`,
    [new Date(from), new Date(to)],
  );
  return rows.map((r) => ({
    bucket: Number(r.b),
    metric_name: r.metric_name,
    labels: canonicalLabelsFromJsonb(r.labels),
    avg: normaliseBits(r.a),
    max: normaliseBits(r.x),
    min: normaliseBits(r.n),
  }));
}

export async function readClickHouseRollups(ch: ChEndpoint, from: number, to: number): Promise<RollupRow[]> {
  const bits = (c: string) => `lower(leftPad(hex(reinterpretAsUInt64(${c})), 16, '0'))`;
  const result = await ch.client.query({
    query: `SELECT toUInt32(bucket) AS b, metric_name, labels, ${bits('avg_v')} AS a, ${bits('max_v')} AS x, ${bits('min_v')} AS n
              FROM ${ch.database}.metrics_1m FINAL
             WHERE bucket >= toDateTime(${Math.floor(from / 1000)}, 'UTC') AND bucket < toDateTime(${Math.floor(to / 1000)}, 'UTC')`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ b: number | string; metric_name: string; labels: string; a: string; x: string; n: string }>();
  return rows.map((r) => ({ bucket: Number(r.b), metric_name: r.metric_name, labels: r.labels, avg: normaliseBits(r.a), max: normaliseBits(r.x), min: normaliseBits(r.n) }));
}

/** Diffs PostgreSQL and ClickHouse `metrics_1m` over the buckets of [from, to). */
export async function compareRollups(pg: PgEndpoint, ch: ChEndpoint, from: number, to: number, maxExamples = 10): Promise<Comparison> {
  const start = floorMinute(from);
  const end = floorMinute(to);
  const [pgRows, chRows] = await Promise.all([readPostgresRollups(pg, start, end), readClickHouseRollups(ch, start, end)]);
  return diffRollups(pgRows, chRows, maxExamples);
}

export function diffRollups(pgRows: readonly RollupRow[], chRows: readonly RollupRow[], maxExamples = 10): Comparison {
  const byKey = new Map<string, { postgres?: RollupRow; clickhouse?: RollupRow }>();
  for (const r of pgRows) byKey.set(keyOf(r), { postgres: r });
  for (const r of chRows) {
    const k = keyOf(r);
    const entry = byKey.get(k);
    if (entry) entry.clickhouse = r;
    else byKey.set(k, { clickhouse: r });
  }
  const examples: Difference[] = [];
  let differences = 0;
  for (const [key, { postgres, clickhouse }] of byKey) {
    const same = postgres && clickhouse && postgres.avg === clickhouse.avg && postgres.max === clickhouse.max && postgres.min === clickhouse.min;
    if (same) continue;
    differences++;
    if (examples.length < maxExamples) examples.push({ key: key.replaceAll('\u0000', ' '), postgres, clickhouse });
  }
  return { postgresRows: pgRows.length, clickhouseRows: chRows.length, differences, examples };
}
