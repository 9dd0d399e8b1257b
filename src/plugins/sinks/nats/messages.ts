import { decodeBatch, type Delivery, type EncodedBatch, type TelemetryEvent } from '../../../index.js';
import { encodeMessages, type Encoded, type MessageFormat } from './format.js';
import { NATS_WIRE } from './wire.js';

/** What message ids are made from: a delivery, or a part of one. */
type Tokens = Pick<Delivery, 'token'>;

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
export function planMessages(events: readonly TelemetryEvent[], subjectOf: (e: TelemetryEvent) => string, format: MessageFormat, limit: number, delivery: Tokens): Planned {
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

/** A queued batch below this fraction of the message limit is too small to be a message of its own. */
const SMALL_FRACTION = 8;

/**
 * The messages of a delivery taken as queued (`format = "batch"` and a subject without
 * placeholders): each queued batch is published as it is, already in the message format, so
 * nothing is decoded or encoded again. Only a batch above `limit` is decoded and split as
 * `planMessages` splits, and a delivery of several batches some of which are small is merged. Ids: the delivery's token for a single batch, `token("<i>/<n>")` for the
 * i-th of n, and a split's part after that; like `planMessages`, they depend only on the pinned
 * delivery, so a replay publishes the same ids.
 */
export function planEncoded(batches: readonly EncodedBatch[], subject: string, limit: number, delivery: Tokens): Planned {
  // Many small queued batches (a receiver emitting per request) would make as many small
  // messages, and each becomes a delivery of its own at the gateways: those are merged into one
  // message the usual way instead.
  if (batches.length > 1 && batches.some((b) => b.data.length < limit / SMALL_FRACTION)) {
    return planMessages(
      batches.flatMap((b) => decodeBatch(b.data)),
      () => subject,
      'batch',
      limit,
      delivery,
    );
  }
  const messages: OutgoingMessage[] = [];
  const tooLarge: number[] = [];
  let offset = 0;
  batches.forEach((b, i) => {
    const scope = batches.length === 1 ? [] : [`${i + 1}/${batches.length}`];
    if (b.data.length <= limit) {
      const headers = { [NATS_WIRE.FORMAT_HEADER]: NATS_WIRE.BATCH_FORMAT, [NATS_WIRE.EVENTS_HEADER]: String(b.events) };
      messages.push({ subject, body: b.data, headers, events: b.events, msgId: delivery.token(...scope) });
    } else {
      const part: Tokens = { token: (...more) => delivery.token(...scope, ...more) };
      const plan = planMessages(decodeBatch(b.data), () => subject, 'batch', limit, part);
      messages.push(...plan.messages);
      for (const index of plan.tooLarge) tooLarge.push(offset + index);
    }
    offset += b.events;
  });
  return { messages, tooLarge };
}
