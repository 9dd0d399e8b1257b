/**
 * The demo's business events: a deploy, an incident and a completed checkout whose type has a
 * registered schema (config/schemas/checkout.completed.json), posted to the http_events source,
 * plus one checkout that breaks its schema, to show the refusal with its field-level errors.
 */
import { DemoError } from './errors.js';

export const CHECKOUT_TYPE = 'checkout.completed';
export const CHECKOUT_TABLE = 'events_checkout';

export interface Refusal {
  readonly index: number;
  readonly type: string | null;
  readonly errors: ReadonlyArray<{ pointer: string; message: string }>;
}

export interface SentEvents {
  /** Event ids of the accepted events, to find them in the stores. */
  readonly ids: readonly string[];
  /** How many of them have a typed table (`events_checkout`). */
  readonly typed: number;
  readonly refused: readonly Refusal[];
}

export async function sendBusinessEvents(url: string, signal: AbortSignal): Promise<SentEvents> {
  const run = Date.now().toString(36);
  const now = Date.now();
  const events = [
    { id: `demo-${run}-deploy`, type: 'deploy', time: now - 3000, service: 'checkout', severity: 'info', payload: { version: '2.4.1', by: 'ci' } },
    { id: `demo-${run}-incident`, type: 'incident', time: now - 2000, service: 'checkout', severity: 'warn', payload: { title: 'card declines above 10%', sev: 3 } },
    { id: `demo-${run}-order`, type: CHECKOUT_TYPE, time: now - 1000, service: 'checkout', severity: 'info', payload: { order_id: `o-${run}`, amount: 42.5, currency: 'EUR', items: 2 } },
    // Breaks the schema twice: no order_id, and a currency that is not three capitals.
    { id: `demo-${run}-bad`, type: CHECKOUT_TYPE, time: now, service: 'checkout', payload: { amount: 10, currency: 'euro' } },
  ];
  let res: Response;
  try {
    res = await fetch(`${url}/v1/events`, { method: 'POST', body: JSON.stringify(events), headers: { 'content-type': 'application/json' }, signal });
  } catch (err) {
    throw new DemoError(`could not post business events to ${url}/v1/events: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { accepted?: number; rejected?: Refusal[]; message?: string };
  if (res.status !== 422 || body.accepted !== 3) {
    throw new DemoError(`the events receiver answered ${res.status} (${body.message ?? JSON.stringify(body)}); expected 422 with 3 events accepted and the broken checkout refused`);
  }
  return { ids: events.slice(0, 3).map((e) => e.id), typed: 1, refused: body.rejected ?? [] };
}
