/**
 * The identity of one delivery, and the only place its deduplication token is built
 * (docs/storage.md#exactly-once-delivery).
 *
 * A sink's queue hands its batches out in deliveries: a range of queued batches `[first, last]`
 * that is pinned in the queue database before the first attempt, so that a replay after a crash
 * covers exactly the same batches. `instance` is the queue database's random id: agents of a
 * fleet run the same config, so the sink id alone would let one agent's delivery pass for
 * another's replay, and the id changes exactly when the queue (and with it the sequence) starts
 * over.
 *
 * Sinks derive everything that must be stable across replays from this value: the postgres ledger
 * row is `(stream, first)`, ClickHouse's `insert_deduplication_token` is `token(table[, part])`.
 */
export class Delivery {
  constructor(
    /** The sink id (the key under `[sinks]`). */
    readonly sink: string,
    /** The queue database's instance id. */
    readonly instance: string,
    /** First queue sequence number covered. */
    readonly first: number,
    /** Last queue sequence number covered (a delivery may merge several queued batches). */
    readonly last: number = first,
  ) {}

  /** `<sink>@<instance>`: whose deliveries these are; sequence numbers only count up within it. */
  get stream(): string {
    return `${this.sink}@${this.instance}`;
  }

  /**
   * `<sink>@<instance>:<first>`, and with a scope `<sink>@<instance>:<first>:<scope>:…` (for a
   * destination that writes a delivery in several parts, each part needs its own token: a table,
   * a row range). Replays of this delivery get the same tokens; another agent never does.
   *
   * This format is what tokens already committed at a destination were sent with: changing it
   * would make the replay of a delivery pinned across an upgrade a duplicate (test:
   * src/core/delivery.test.ts).
   */
  token(...scope: Array<string | number>): string {
    const base = `${this.stream}:${this.first}`;
    return scope.length === 0 ? base : `${base}:${scope.join(':')}`;
  }

  toJSON(): Record<string, unknown> {
    return { sink: this.sink, instance: this.instance, first: this.first, last: this.last };
  }
}
