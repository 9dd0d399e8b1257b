/**
 * The embedded engine's next delivery, spooled while the one before it is inserted
 * (`SinkInstance.prepareEncoded`, docs/delivery.md#the-next-delivery). The engine inserts on its own
 * threads and the spooling (encoding the RowBinary rows) runs on the event loop, so the two overlap
 * where they would otherwise take turns (docs/performance.md, "The file source, end to end into
 * ClickHouse").
 *
 * - One delivery is held at a time: the offer of another removes what was spooled for the older.
 * - The write of a delivery takes its entry over, so an offer made during that write does not
 *   touch it, and removes the files it did not use when it ends (`SpoolForWrite.done`).
 * - Spooling starts when the write in flight begins to insert, so it never delays that write's own
 *   spooling; a write whose entry was not started yet starts it itself.
 * - Parts are cut and encoded exactly as the write cuts them (`cuts`, `spoolPart`), with the table
 *   schemas known at the time; a part spooled with a schema since read again is not used. The
 *   span_event table is not spooled ahead: which spans' events are rows depends on the spans' insert.
 */
import fs from 'node:fs/promises';
import type { Delivery, EncodedBatch } from '../../../index.js';
import type { TableSchema } from './schema.js';
import { TABLE_ROLES, type TableRole } from './tables.js';
import { type SpooledAhead, type SpooledPart, cuts, kindsOf, spoolPart } from './write-encoded.js';

type Part = SpooledPart & { readonly schema: TableSchema };

interface Entry {
  readonly key: string;
  readonly batches: readonly EncodedBatch[];
  parts?: Promise<Map<string, Part>>;
  dropped: boolean;
}

const keyOf = (d: Delivery): string => `${d.stream}:${d.first}:${d.last}`;
const partKey = (role: TableRole, lo: number, hi: number): string => `${role}:${lo}:${hi}`;

/**
 * Never rejects: these promises are not awaited by anyone who could handle a failure, and a file
 * that cannot be removed now is removed with the spool directory when the sink starts.
 */
async function removeFiles(parts: Map<string, Part>): Promise<void> {
  const files = [...parts.values()].map((p) => p.file);
  parts.clear();
  await Promise.all(files.map((f) => fs.rm(f, { force: true }).catch(() => undefined)));
}

async function removeAll(entry: Entry): Promise<void> {
  const parts = await entry.parts;
  if (parts) await removeFiles(parts);
}

/** A write's view of what was spooled ahead for its delivery. */
export interface SpoolForWrite extends SpooledAhead {
  /** Removes the files this write did not insert. */
  done(): Promise<void>;
}

export class SpoolAhead {
  private held: Entry | undefined;

  constructor(
    private readonly dir: string,
    /** A table's schema if it has been read, else undefined (its rows are not spooled ahead). */
    private readonly schemaOf: (role: TableRole) => Promise<TableSchema> | undefined,
  ) {}

  /** The delivery that comes next. */
  offer(batches: readonly EncodedBatch[], delivery: Delivery): void {
    const key = keyOf(delivery);
    if (this.held?.key === key) return;
    void this.stop();
    this.held = { key, batches, dropped: false };
  }

  /** Called as a write of `delivery` begins, before it awaits anything: it takes its entry over. */
  forWrite(delivery: Delivery): SpoolForWrite {
    const key = keyOf(delivery);
    const mine = this.held?.key === key ? this.held : undefined;
    if (mine) this.held = undefined;
    return {
      take: async (role, lo, hi, schema) => {
        if (!mine) return undefined;
        const parts = await this.start(mine);
        const k = partKey(role, lo, hi);
        const part = parts.get(k);
        if (!part || part.schema !== schema) return undefined;
        parts.delete(k);
        return part;
      },
      inserting: () => {
        if (this.held) void this.start(this.held);
      },
      done: async () => {
        if (mine) await removeAll(mine);
      },
    };
  }

  /** Removes what was spooled ahead and not taken by a write. */
  async stop(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held) {
      held.dropped = true;
      await removeAll(held);
    }
  }

  private start(entry: Entry): Promise<Map<string, Part>> {
    entry.parts ??= this.spool(entry);
    return entry.parts;
  }

  /** Every part of the tables whose schemas are known; a failure leaves nothing behind (the write spools it). */
  private async spool(entry: Entry): Promise<Map<string, Part>> {
    const parts = new Map<string, Part>();
    try {
      const kinds = kindsOf(entry.batches);
      for (const role of TABLE_ROLES) {
        if (entry.dropped) break;
        // Spans are written only with a span_event table (write-encoded.ts).
        if (role === 'span_event' || !kinds.has(role) || (role === 'span' && !this.schemaOf('span_event'))) continue;
        const loading = this.schemaOf(role);
        if (!loading) continue;
        const schema = await loading;
        for (const [lo, hi] of cuts(entry.batches, role, new Set())) {
          if (entry.dropped) break;
          const part = await spoolPart(entry.batches, role, schema, lo, hi, this.dir);
          if (part) parts.set(partKey(role, lo, hi), { ...part, schema });
        }
      }
    } catch {
      // The write spools whatever is missing itself.
      await removeFiles(parts);
    }
    // Dropped while spooling: removeAll may have run before these files existed.
    if (entry.dropped) await removeFiles(parts);
    return parts;
  }
}
