import type { JsMsg, MsgHdrs } from 'nats';
import { verifyBatch, NATS_WIRE, type LogEvent } from '../../../index.js';

/**
 * The batch a message in the `tc-batch/1` format carries, checked (format header, checksum, event
 * count) but not decoded, or why it cannot be read (then it is dead-lettered). The core decodes it
 * only if something downstream needs the events (`SourceContext.emitEncoded`).
 */
export function readMessage(body: Uint8Array, headers: MsgHdrs | undefined): { data: Buffer; events: number } | { error: string } {
  const format = headers?.get(NATS_WIRE.FORMAT_HEADER) ?? '';
  if (format !== NATS_WIRE.BATCH_FORMAT) {
    return {
      error: format === '' ? `no ${NATS_WIRE.FORMAT_HEADER} header: not a message of the nats sink` : `format "${format}" is not read by the nats source (only ${NATS_WIRE.BATCH_FORMAT})`,
    };
  }
  const data = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let events: number;
  try {
    events = verifyBatch(data);
  } catch (err) {
    return { error: `undecodable ${NATS_WIRE.BATCH_FORMAT} body: ${(err as Error).message}` };
  }
  const declared = headers?.get(NATS_WIRE.EVENTS_HEADER);
  if (declared && Number(declared) !== events) return { error: `the body holds ${events} events, the header says ${declared}` };
  return { data, events };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A message that is not a batch, as the one event its dead-letter entry holds (the dead-letter
 * table keeps events): its body as the log message (UTF-8 text as it is, anything else base64,
 * said by the label `nats.body`), and its stream, sequence, subject and headers as labels, so
 * that `thermocline dead-letter --show` gives back everything that was on the stream.
 */
export function rawMessageEvent(stream: string, m: JsMsg): LogEvent {
  let message: string;
  let encoding: 'utf8' | 'base64';
  try {
    message = strictUtf8.decode(m.data);
    encoding = 'utf8';
  } catch {
    message = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('base64');
    encoding = 'base64';
  }
  const labels: Record<string, string> = { 'nats.stream': stream, 'nats.subject': m.subject, 'nats.seq': String(m.seq), 'nats.body': encoding };
  for (const [name, values] of m.headers ?? []) labels[`nats.header.${name}`] = values.join(', ');
  return {
    kind: 'log',
    time_us: Math.floor(m.info.timestampNanos / 1000),
    service: '',
    host: '',
    level: 'error',
    trace_id: '',
    span_id: '',
    message,
    labels,
  };
}
