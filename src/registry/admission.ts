/**
 * Which business events are queued, refused or dead-lettered (docs/events.md#validation): the
 * schema of their type when it is registered, the `unregistered` policy when it is not. A source
 * that can answer its producer per event (http_events) refuses invalid events in its response; one
 * that cannot (OTLP logs, files) dead-letters them with the schema version and every error.
 * Counted per event type and reason.
 */
import type { BusinessEvent } from '../core/events.js';
import type { RejectedRow } from '../core/plugin/types.js';
import type { ComponentMetrics, LabelledCounter } from '../core/telemetry/metrics.js';
import type { CompiledSchema } from './compile.js';
import { REGISTRY_ERRORS } from './errors.js';

export type UnregisteredPolicy = 'accept' | 'reject' | 'dead_letter';

export interface EventProblem {
  readonly pointer: string;
  readonly message: string;
}

export interface RefusedEvent {
  readonly index: number;
  readonly type: string | null;
  readonly errors: readonly EventProblem[];
}

/** An event as a source read it: well-formed, or already refused by the source's own checks. */
export type CandidateEvent = { readonly index: number; readonly event: BusinessEvent } | { readonly index: number; readonly refused: RefusedEvent };

export interface Admission {
  readonly accepted: BusinessEvent[];
  /** Refused in the answer to the producer (only when `invalid = "refuse"`). */
  readonly refused: RefusedEvent[];
  readonly deadLetters: BusinessEvent[];
  /** One per dead letter, its `index` into `deadLetters`, its reason with the code and every error. */
  readonly deadLetterRows: RejectedRow[];
}

export interface AdmissionOptions {
  readonly unregistered: UnregisteredPolicy;
  /** What happens to an event its schema refuses: answered to the producer, or dead-lettered. */
  readonly invalid: 'refuse' | 'dead_letter';
  readonly schemaOf: (type: string) => CompiledSchema | undefined;
  readonly counters: AdmissionCounters;
}

export interface AdmissionCounters {
  readonly refused: LabelledCounter<'event_type' | 'reason'>;
  readonly accepted: LabelledCounter<'event_type'>;
}

/** The same two series on every source that admits events, so one alert covers them all. */
export function admissionCounters(metrics: ComponentMetrics): AdmissionCounters {
  return {
    refused: metrics.labelledCounter('refused_events_total', 'Business events refused or dead-lettered, by event type and reason (malformed, invalid, unregistered).', ['event_type', 'reason']),
    accepted: metrics.labelledCounter('accepted_events_total', 'Business events queued, by event type (_unregistered for types without a schema).', ['event_type']),
  };
}

/** Label values stay few: user-chosen type names are counted only once they are registered. */
const UNREGISTERED = '_unregistered';
const MALFORMED = '_malformed';

export class EventAdmitter {
  constructor(private readonly o: AdmissionOptions) {}

  admit(candidates: Iterable<CandidateEvent>): Admission {
    const out: Admission = { accepted: [], refused: [], deadLetters: [], deadLetterRows: [] };
    const counts = new Map<string, number>();
    const count = (type: string, reason: string) => counts.set(`${type}\u0000${reason}`, (counts.get(`${type}\u0000${reason}`) ?? 0) + 1);
    const deadLetter = (e: BusinessEvent, reason: string) => {
      out.deadLetterRows.push({ index: out.deadLetters.length, reason });
      out.deadLetters.push(e);
    };
    for (const c of candidates) {
      if ('refused' in c) {
        out.refused.push(c.refused);
        count(MALFORMED, 'malformed');
        continue;
      }
      const e = c.event;
      const schema = this.o.schemaOf(e.type);
      if (schema === undefined) {
        const policy = this.o.unregistered;
        if (policy === 'accept') {
          out.accepted.push(e);
          count(UNREGISTERED, '');
        } else if (policy === 'reject' && this.o.invalid === 'refuse') {
          out.refused.push({ index: c.index, type: e.type, errors: [{ pointer: '/type', message: `"${e.type}" has no registered schema (unregistered = "reject")` }] });
          count(UNREGISTERED, 'unregistered');
        } else {
          deadLetter(e, `${REGISTRY_ERRORS.TC_EVENT_UNREGISTERED}: "${e.type}" has no registered schema (unregistered = "${policy}")`);
          count(UNREGISTERED, 'unregistered');
        }
        continue;
      }
      const issues = schema.validate(e.payload);
      if (issues.length === 0) {
        out.accepted.push(e);
        count(e.type, '');
      } else if (this.o.invalid === 'refuse') {
        out.refused.push({ index: c.index, type: e.type, errors: issues.map((i) => ({ pointer: i.pointer, message: `${i.message} (schema ${e.type} ${schema.version})` })) });
        count(e.type, 'invalid');
      } else {
        const errors = issues.map((i) => `${i.pointer === '' ? '/' : i.pointer}: ${i.message}`).join('; ');
        deadLetter(e, `${REGISTRY_ERRORS.TC_EVENT_INVALID}: schema ${e.type} ${schema.version}: ${errors}`);
        count(e.type, 'invalid');
      }
    }
    for (const [key, n] of counts) {
      const [event_type = '', reason = ''] = key.split('\u0000');
      if (reason === '') this.o.counters.accepted.inc({ event_type }, n);
      else this.o.counters.refused.inc({ event_type, reason }, n);
    }
    return out;
  }
}
