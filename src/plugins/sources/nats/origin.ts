import { createHash } from 'node:crypto';
import type { JsMsg } from 'nats';
import { NATS_WIRE } from '../../../index.js';

/** The longest upstream identity the core accepts (`EmitOrigin.id`). */
const MAX_ORIGIN = 256;

/**
 * A stream message's upstream identity, the `id` of its `EmitOrigin`: the same on every gateway
 * of a pool, so the stores' tokens derived from it (`<sink>@origin:<id>`) drop a message another
 * gateway already wrote (docs/scaling.md, "The window across gateways").
 *
 * - `nats:<stream>:<Nats-Msg-Id>` when the publisher set a message id (the nats sink sends its
 *   delivery token): a copy republished after the duplicate window, stored under a new sequence,
 *   keeps the identity of the first;
 * - `nats:<stream>:seq:<stream sequence>` otherwise;
 * - an id too long for the core's limit is replaced by its SHA-256: `nats:<stream>:sha256:<hex>`.
 */
export function originOf(stream: string, m: JsMsg): string {
  const msgId = m.headers?.get(NATS_WIRE.MSG_ID_HEADER) ?? '';
  if (msgId === '') return `nats:${stream}:seq:${m.seq}`;
  const id = `nats:${stream}:${msgId}`;
  return id.length <= MAX_ORIGIN ? id : `nats:${stream}:sha256:${createHash('sha256').update(msgId).digest('hex')}`;
}
