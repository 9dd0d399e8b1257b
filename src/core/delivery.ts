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
 * A delivery of a batch that arrived with an identity of its own (`origin`, a bus message with its
 * producer's id; docs/delivery.md#upstream-identity) covers that batch alone and is named by the
 * origin instead of the queue: any agent of a pool that receives the same message builds the same
 * tokens, so the store drops the second copy.
 *
 * Sinks derive everything that must be stable across replays from this value: the postgres ledger
 * row is `(stream, position)`, ClickHouse's `insert_deduplication_token` is `token(table[, part])`.
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
    /** The upstream identity of the one batch delivered, when it came with one. */
    readonly origin?: string,
  ) {}

  /**
   * `<sink>@<instance>`: whose deliveries these are; sequence numbers only count up within it.
   * For an origin, `<sink>@origin:<origin>`: a stream of its own, the same on every agent.
   */
  get stream(): string {
    return this.origin === undefined ? `${this.sink}@${this.instance}` : `${this.sink}@origin:${this.origin}`;
  }

  /** Where in `stream` this delivery is: its first queue seq, or 0 for an origin (its stream holds only it). */
  get position(): number {
    return this.origin === undefined ? this.first : 0;
  }

  /**
   * `<sink>@<instance>:<first>`, and with a scope `<sink>@<instance>:<first>:<scope>:…` (for a
   * destination that writes a delivery in several parts, each part needs its own token: a table,
   * a row range). Replays of this delivery get the same tokens; another agent never does, except
   * for an origin: `<sink>@origin:<origin>[:<scope>:…]` on every agent (a queue instance is hex,
   * so the two forms never meet).
   *
   * This format is what tokens already committed at a destination were sent with: changing it
   * would make the replay of a delivery pinned across an upgrade a duplicate (test:
   * src/core/delivery.test.ts).
   */
  token(...scope: Array<string | number>): string {
    const base = this.origin === undefined ? `${this.stream}:${this.first}` : this.stream;
    return scope.length === 0 ? base : `${base}:${scope.join(':')}`;
  }

  toJSON(): Record<string, unknown> {
    return { sink: this.sink, instance: this.instance, first: this.first, last: this.last, ...(this.origin === undefined ? {} : { origin: this.origin }) };
  }
}
