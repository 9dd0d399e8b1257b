import { decodeBatch, type EncodedEmit, type LogEvent } from '../../../index.js';

/**
 * Lines ready to commit: as events (plain, logfmt, multiline), or as one batch already in the
 * queue's encoding (JSON lines written from their bytes, parse/event-builder.ts `encodeBytes`). The
 * same object is offered again while a full queue refuses it, so that the core keeps its routing.
 */
export type Lines = { readonly events: LogEvent[] } | { readonly encoded: readonly EncodedEmit[]; readonly count: number };

export function countOf(lines: Lines): number {
  return 'events' in lines ? lines.events.length : lines.count;
}

/** The lines as events: decoded, for the rare split of a refused batch by file. */
export function eventsOf(lines: Lines): LogEvent[] {
  if ('events' in lines) return lines.events;
  return lines.encoded.flatMap((b) => decodeBatch(b.data) as LogEvent[]);
}
