import type { Delivery, TelemetryEvent } from '../../../index.js';
import { encodeMessages, type Encoded, type MessageFormat } from './format.js';

export interface OutgoingMessage extends Encoded {
  subject: string;
  /** `Nats-Msg-Id`: the delivery's token, scoped by the part when the delivery needs several messages. */
  msgId: string;
}

export interface Planned {
  messages: OutgoingMessage[];
  /** Events that alone exceed the size limit, by index in the delivery. */
  tooLarge: number[];
}

/**
 * The messages of one delivery: events grouped by subject (in order of first appearance), each
 * group encoded, and any message above `limit` bytes split in halves until the parts fit. The
 * plan depends only on the events, the config and the limit, so the replay of a delivery after a
 * crash produces the same messages with the same ids, and the stream's duplicate window drops
 * the ones that had arrived (docs/scaling.md, "The guarantee at each hop"). A part's id is
 * `delivery.token("<i>/<n>")`, the one constructor of delivery tokens.
 */
export function planMessages(events: readonly TelemetryEvent[], subjectOf: (e: TelemetryEvent) => string, format: MessageFormat, limit: number, delivery: Delivery): Planned {
  const groups = new Map<string, number[]>();
  events.forEach((e, i) => {
    const s = subjectOf(e);
    let g = groups.get(s);
    if (!g) groups.set(s, (g = []));
    g.push(i);
  });
  const parts: Array<Omit<OutgoingMessage, 'msgId'>> = [];
  const tooLarge: number[] = [];
  const place = (subject: string, indexes: number[]) => {
    const encoded = encodeMessages(
      format,
      indexes.map((i) => events[i] as TelemetryEvent),
    );
    if (encoded.every((m) => m.body.length <= limit)) {
      for (const m of encoded) parts.push({ ...m, subject });
      return;
    }
    if (indexes.length === 1) {
      tooLarge.push(indexes[0] as number);
      return;
    }
    const mid = Math.ceil(indexes.length / 2);
    place(subject, indexes.slice(0, mid));
    place(subject, indexes.slice(mid));
  };
  for (const [subject, indexes] of groups) place(subject, indexes);
  const messages = parts.map((p, i) => ({ ...p, msgId: parts.length === 1 ? delivery.token() : delivery.token(`${i + 1}/${parts.length}`) }));
  return { messages, tooLarge };
}
