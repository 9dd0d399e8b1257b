/**
 * The memory of the cardinality guard: per metric name, the set of label sets seen,
 * bounded in three ways so that a label explosion cannot grow the agent:
 *   - a metric admits at most `limit` series (the caller passes the limit per call);
 *   - at most `maxMetrics` metric names are tracked;
 *   - at most `maxSeries` series are tracked in total.
 * When a bound is reached the least recently seen metrics are forgotten; a forgotten metric starts
 * afresh when it returns. Series are stored as 53-bit hashes (see series-hash.ts).
 */

interface MetricSeries {
  series: Set<number>;
  /** Batch number when last seen, to move it to the back of the recency order once per batch. */
  seenIn: number;
  /** Whether the limit was already reported for this metric. */
  reported: boolean;
}

export class SeriesTracker {
  /** Map iteration order is the recency order: least recently seen first. */
  private readonly metrics = new Map<string, MetricSeries>();
  private total = 0;
  private batch = 0;
  /** The last metric admitted: consecutive events are often of one metric. */
  private lastName: string | undefined;
  private last: MetricSeries | undefined;
  evictions = 0;
  /** Tracked metrics that have refused a series: the ones exploding now, for an alert. */
  overLimit = 0;

  constructor(
    private readonly maxMetrics: number,
    private readonly maxSeries: number,
  ) {}

  get trackedSeries(): number {
    return this.total;
  }

  get trackedMetrics(): number {
    return this.metrics.size;
  }

  /** Call once per batch: recency is tracked per batch, not per event, to keep the hot path cheap. */
  nextBatch(): void {
    this.batch++;
  }

  /**
   * Whether the series `hash` of `metric` is known or fits under `limit` (and is now tracked).
   * `false` means a new series over the limit (see `firstRefusal` to report it once).
   */
  admit(metric: string, hash: number, limit: number): boolean {
    let m = metric === this.lastName && this.last !== undefined && this.last.seenIn === this.batch ? this.last : this.metrics.get(metric);
    if (m === undefined) {
      if (this.metrics.size >= this.maxMetrics) this.evict(this.maxMetrics - 1, this.maxSeries);
      m = { series: new Set(), seenIn: this.batch, reported: false };
      this.metrics.set(metric, m);
    } else if (m.seenIn !== this.batch) {
      // Move to the back of the recency order (delete + set), once per batch per metric.
      m.seenIn = this.batch;
      this.metrics.delete(metric);
      this.metrics.set(metric, m);
    }
    this.lastName = metric;
    this.last = m;
    if (m.series.has(hash)) return true;
    if (m.series.size >= limit) return false;
    if (this.total >= this.maxSeries) {
      this.evict(this.maxMetrics, this.maxSeries - 1, m);
      if (this.total >= this.maxSeries) return false; // only this metric is left, and it is full
    }
    m.series.add(hash);
    this.total++;
    return true;
  }

  /** True the first time `metric` is refused since it started being tracked. */
  firstRefusal(metric: string): boolean {
    const m = this.metrics.get(metric);
    if (!m || m.reported) return false;
    m.reported = true;
    this.overLimit++;
    return true;
  }

  /** Forget least recently seen metrics (never `keep`) until both counts are within bounds. */
  private evict(metricBound: number, seriesBound: number, keep?: MetricSeries): void {
    for (const [name, m] of this.metrics) {
      if (this.metrics.size <= metricBound && this.total <= seriesBound) return;
      if (m === keep) continue;
      this.metrics.delete(name);
      this.total -= m.series.size;
      if (m.reported) this.overLimit--;
      this.evictions++;
      if (m === this.last) this.last = this.lastName = undefined;
    }
  }
}
