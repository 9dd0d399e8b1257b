import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import { canonicalLabels, type Labels, ThermoclineError } from '../../../index.js';
import { classify, describePgError } from './classify.js';
import type { TextCleaner } from './clean.js';
import type { SeriesRows } from './tables.js';
import { PG_SINK_ERRORS } from './errors.js';

/**
 * `(metric name, labels)` -> `metric_series.series_id`, through a bounded LRU; all misses
 * of a delivery are resolved together in one statement.
 *
 * The cache key holds the name and the labels in canonical (sorted) key order
 * (docs/ARCHITECTURE.md#events), so one series has one key whatever order its labels came in; the
 * database compares labels as jsonb, semantically, anyway. It is built for every point, so it is
 * built cheaply: the strings joined by NUL (measured ~2x cheaper than JSON.stringify of the
 * labels, bench/postgres-sink.ts). That is unambiguous as long as no string holds a NUL; one that
 * does (rare: such labels are stored with U+FFFD) gets a JSON key instead, which never holds a raw
 * NUL, so the two forms cannot meet.
 */
export function seriesKey(name: string, labels: Labels): string {
  if (name.includes('\0')) return jsonSeriesKey(name, labels);
  let key = `${name}\0`;
  let previous = '';
  for (const k in labels) {
    // for-in yields integer-like keys first, in numeric order: also "unsorted" by code units.
    if (k < previous) return sortedSeriesKey(name, labels);
    previous = k;
    const v = labels[k];
    if (typeof v !== 'string' || v.includes('\0') || k.includes('\0')) return jsonSeriesKey(name, labels);
    key += `${k}\0${v}\0`;
  }
  return key;
}

function sortedSeriesKey(name: string, labels: Labels): string {
  let key = `${name}\0`;
  for (const k of Object.keys(labels).sort()) {
    const v = labels[k];
    if (typeof v !== 'string' || v.includes('\0') || k.includes('\0')) return jsonSeriesKey(name, labels);
    key += `${k}\0${v}\0`;
  }
  return key;
}

function jsonSeriesKey(name: string, labels: Labels): string {
  return `\u0001${JSON.stringify([name, canonicalLabels(labels)])}`;
}

/**
 * What a series is inserted as, `[name, labels]` in JSON as INSERT_AND_READ reads it, from its key
 * alone: so the rows keep only the key, not the event it came from. A NUL-joined key splits back
 * into the name and the label pairs, in key order; a JSON key is that JSON already. Only the
 * NUL-joined form ends with a NUL (a name may well start with U+0001).
 */
export function seriesJson(key: string): string {
  if (!key.endsWith('\0')) return key.slice(1);
  const parts = key.split('\0');
  let json = `[${JSON.stringify(parts[0])},{`;
  // The key ends with a NUL, so the last part is empty.
  for (let i = 1; i + 1 < parts.length; i += 2) json += `${i === 1 ? '' : ','}${JSON.stringify(parts[i])}:${JSON.stringify(parts[i + 1])}`;
  return `${json}}]`;
}

/**
 * Inserts the missing series and returns the id of every input row, in one round trip. Ordered
 * inserts keep agents that insert overlapping sets from deadlocking. The second SELECT reads rows
 * committed before this statement began; `inserted` adds the ones this statement created. A series
 * another agent inserted concurrently is in neither (ON CONFLICT skipped it, and it committed after
 * this statement's snapshot): READ_BACK, a new statement with a new snapshot, finds those.
 */
const INSERT_AND_READ = `
WITH input AS (
  SELECT e->>0 AS metric_name, e->1 AS labels, ord
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, ord)
), inserted AS (
  INSERT INTO metric_series (metric_name, labels)
  SELECT metric_name, labels FROM input ORDER BY metric_name, labels
  ON CONFLICT (metric_name, labels) DO NOTHING
  RETURNING series_id, metric_name, labels
)
SELECT i.ord, x.series_id, true AS created FROM inserted x JOIN input i ON i.metric_name = x.metric_name AND i.labels = x.labels
UNION ALL
SELECT i.ord, s.series_id, false AS created FROM input i JOIN metric_series s ON s.metric_name = i.metric_name AND s.labels = i.labels`;

const READ_BACK = `
SELECT t.ord, s.series_id, false AS created
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, ord)
  JOIN metric_series s ON s.metric_name = t.e->>0 AND s.labels = t.e->1`;

interface Entry {
  /** The cleaned name and labels, as stored. */
  readonly json: string;
  readonly rawKeys: string[];
}

export interface SeriesCounters {
  created(n: number): void;
  resolved(n: number): void;
}

export class SeriesResolver {
  private readonly cache: LRUCache<string, number>;

  constructor(
    size: number,
    private readonly cleaner: TextCleaner,
    private readonly counters: SeriesCounters,
  ) {
    this.cache = new LRUCache({ max: size });
  }

  get size(): number {
    return this.cache.size;
  }

  /** Forget every mapping (after the database lost series the cache still names). */
  clear(): void {
    this.cache.clear();
  }

  /**
   * Sets `seriesId` on the rows added since the last call (`t.resolved` on). Rows whose series the
   * server refuses (a label set too large for the unique index, SQLSTATE 54000) are added to
   * `rejected`; other failures throw.
   */
  async assign(pool: pg.Pool, tables: readonly SeriesRows[], rejected: Map<number, string>): Promise<void> {
    const missing = new Set<string>();
    const from = tables.map((t) => t.resolved);
    for (const t of tables) {
      let lastKey: string | undefined;
      let lastId: number | undefined;
      for (let r = t.resolved; r < t.length; r++) {
        const key = t.seriesKey[r] as string;
        const id = key === lastKey ? lastId : this.cache.get(key);
        if (id === undefined) missing.add(key);
        else t.seriesId[r] = id;
        lastKey = key;
        lastId = id;
      }
    }
    const to = tables.map((t) => t.length);
    if (missing.size > 0) await this.fill(pool, tables, from, to, missing, rejected);
    tables.forEach((t, i) => (t.resolved = to[i] as number));
  }

  private async fill(
    pool: pg.Pool,
    tables: readonly SeriesRows[],
    from: number[],
    to: number[],
    missing: ReadonlySet<string>,
    rejected: Map<number, string>,
  ): Promise<void> {
    const { ids, failed } = await this.resolve(pool, missing);
    for (const [i, t] of tables.entries()) {
      for (let r = from[i] as number; r < (to[i] as number); r++) {
        const key = t.seriesKey[r] as string;
        if (!missing.has(key)) continue;
        const id = ids.get(key);
        if (id !== undefined) t.seriesId[r] = id;
        else rejected.set(t.eventIndex[r] as number, failed.get(key) ?? 'TC_PG_SINK_ROW_REJECTED: metric_series: the series could not be resolved');
      }
    }
  }

  private async resolve(pool: pg.Pool, missing: ReadonlySet<string>): Promise<{ ids: Map<string, number>; failed: Map<string, string> }> {
    // Keys that differ only in characters PostgreSQL cannot store are one series once cleaned.
    const byStored = new Map<string, Entry>();
    for (const key of missing) {
      // JSON.stringify escapes NUL and unpaired surrogates, in the name and the labels alike.
      const json = this.cleaner.json(seriesJson(key));
      const entry = byStored.get(json);
      if (entry) entry.rawKeys.push(key);
      else byStored.set(json, { json, rawKeys: [key] });
    }
    const ids = new Map<string, number>();
    const failed = new Map<string, string>();
    await this.insertIsolating(pool, [...byStored.values()], ids, failed);
    this.counters.resolved(byStored.size);
    return { ids, failed };
  }

  /** Bisects a set the server refuses, so that one bad series does not block the others. */
  private async insertIsolating(pool: pg.Pool, entries: Entry[], ids: Map<string, number>, failed: Map<string, string>): Promise<void> {
    try {
      await this.insertAndRead(pool, entries, ids);
    } catch (err) {
      if (classify(err) !== 'data') throw err;
      if (entries.length === 1) {
        const reason = `TC_PG_SINK_ROW_REJECTED: metric_series refused the series: ${describePgError(err)}`;
        for (const key of (entries[0] as Entry).rawKeys) failed.set(key, reason);
        return;
      }
      const mid = entries.length >> 1;
      await this.insertIsolating(pool, entries.slice(0, mid), ids, failed);
      await this.insertIsolating(pool, entries.slice(mid), ids, failed);
    }
  }

  private async insertAndRead(pool: pg.Pool, entries: Entry[], ids: Map<string, number>): Promise<void> {
    const param = `[${entries.map((e) => e.json).join(',')}]`;
    const found = new Set<number>();
    const take = (rows: Array<{ ord: string; series_id: string; created: boolean }>) => {
      let created = 0;
      for (const row of rows) {
        const ord = Number(row.ord) - 1;
        const id = Number(row.series_id);
        if (!Number.isSafeInteger(id)) throw new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_WRITE_FAILED, `metric_series.series_id ${row.series_id} is beyond 2^53`);
        found.add(ord);
        for (const key of (entries[ord] as Entry).rawKeys) {
          ids.set(key, id);
          this.cache.set(key, id);
        }
        if (row.created) created++;
      }
      this.counters.created(created);
    };
    take((await pool.query(INSERT_AND_READ, [param])).rows);
    if (found.size === entries.length) return;
    // Inserted concurrently by another agent: visible to a new statement's snapshot.
    const restIdx = entries.map((_, i) => i).filter((i) => !found.has(i));
    const restParam = `[${restIdx.map((i) => (entries[i] as Entry).json).join(',')}]`;
    const { rows } = await pool.query<{ ord: string; series_id: string; created: boolean }>(READ_BACK, [restParam]);
    // READ_BACK numbers the rest, not `entries`: map its ordinals back.
    take(rows.map((r) => ({ ...r, ord: String((restIdx[Number(r.ord) - 1] as number) + 1) })));
    if (found.size < entries.length) {
      throw new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_WRITE_FAILED, `${entries.length - found.size} series were neither inserted nor found (deleted concurrently?)`);
    }
  }
}
