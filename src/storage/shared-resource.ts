/**
 * A process-wide, reference-counted resource keyed by a string: the embedded PostgreSQL server per
 * data directory and the embedded ClickHouse engine per path are each opened once and shared by
 * every component that asks for them, and closed when the last one lets go.
 */
interface Entry<T> {
  refs: number;
  value: Promise<T>;
}

export class SharedResources<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Closes in progress: an acquire for the same key waits for them rather than racing them. */
  readonly #closing = new Map<string, Promise<void>>();

  /** Keys currently open (or opening). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  async acquire(key: string, open: () => Promise<T>): Promise<T> {
    const closing = this.#closing.get(key);
    if (closing !== undefined) await closing.catch(() => undefined);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const value = open();
      entry = { refs: 0, value };
      this.#entries.set(key, entry);
      const created = entry;
      // A failed open must not poison the key for the next caller.
      value.catch(() => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
      });
    }
    entry.refs += 1;
    try {
      return await entry.value;
    } catch (err) {
      entry.refs -= 1;
      throw err;
    }
  }

  /** Drops one reference; the last one closes the resource. Releasing an unknown key is a no-op. */
  async release(key: string, close: (value: T) => Promise<void>): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    this.#entries.delete(key);
    const closing = entry.value.then(close, () => undefined);
    this.#closing.set(key, closing);
    try {
      await closing;
    } finally {
      if (this.#closing.get(key) === closing) this.#closing.delete(key);
    }
  }
}
