/**
 * Which parsed events are queued, refused or dead-lettered: the schema of their type when it is
 * registered, the `unregistered` policy when it is not. Counted per event type and reason.
 */
import type { BusinessEvent, CompiledSchema, LabelledCounter, RejectedRow } from '../../../index.js';
import type { HttpEventsConfig } from './config.js';
import type { ParsedEvent, RefusedEvent } from './parse.js';

export interface Admission {
  readonly accepted: BusinessEvent[];
  readonly refused: RefusedEvent[];
  readonly deadLetters: BusinessEvent[];
  readonly deadLetterRows: RejectedRow[];
}

/** Label values stay few: user-chosen type names are counted only once they are registered. */
const UNREGISTERED = '_unregistered';
const MALFORMED = '_malformed';

export class Admitter {
  constructor(
    private readonly policy: HttpEventsConfig['unregistered'],
    private readonly schemaOf: (type: string) => CompiledSchema | undefined,
    private readonly refusedCounter: LabelledCounter<'event_type' | 'reason'>,
    private readonly acceptedCounter: LabelledCounter<'event_type'>,
  ) {}

  admit(parsed: readonly ParsedEvent[]): Admission {
    const out: Admission = { accepted: [], refused: [], deadLetters: [], deadLetterRows: [] };
    const counts = new Map<string, number>();
    const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const p of parsed) {
      if ('refused' in p) {
        out.refused.push(p.refused);
        count(`${MALFORMED}\u0000malformed`);
        continue;
      }
      const e = p.event;
      const schema = this.schemaOf(e.type);
      if (schema === undefined) {
        if (this.policy === 'accept') {
          out.accepted.push(e);
          count(`${UNREGISTERED}\u0000`);
        } else if (this.policy === 'reject') {
          out.refused.push({ index: p.index, type: e.type, errors: [{ pointer: '/type', message: `"${e.type}" has no registered schema (unregistered = "reject")` }] });
          count(`${UNREGISTERED}\u0000unregistered`);
        } else {
          out.deadLetterRows.push({ index: out.deadLetters.length, reason: `TC_EVENT_UNREGISTERED: "${e.type}" has no registered schema` });
          out.deadLetters.push(e);
          count(`${UNREGISTERED}\u0000unregistered`);
        }
        continue;
      }
      const issues = schema.validate(e.payload);
      if (issues.length === 0) {
        out.accepted.push(e);
        count(`${e.type}\u0000`);
      } else {
        out.refused.push({ index: p.index, type: e.type, errors: issues.map((i) => ({ pointer: i.pointer, message: `${i.message} (schema ${e.type} ${schema.version})` })) });
        count(`${e.type}\u0000invalid`);
      }
    }
    for (const [key, n] of counts) {
      const [event_type = '', reason = ''] = key.split('\u0000');
      if (reason === '') this.acceptedCounter.inc({ event_type }, n);
      else this.refusedCounter.inc({ event_type, reason }, n);
    }
    return out;
  }
}
