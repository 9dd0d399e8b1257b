/**
 * The message format on the bus, versioned in the `Thermocline-Format` header (the sink's
 * README.md, "Message format"); the nats sink writes it and the nats source reads it:
 *
 * - `tc-batch/1`: the body is one batch in the queue's own encoding (`encodeBatch`), the compact
 *   default that a `nats` source turns back into events.
 * - `otlp-proto/1`: the body is an OTLP/protobuf `Export*ServiceRequest`, for consumers that are
 *   not Thermocline; the `Otlp-Signal` header says which (`traces`, `logs`, `metrics`), and
 *   `Content-Type` is `application/x-protobuf`.
 *
 * `Thermocline-Events` carries the number of events in the body.
 */
export const NATS_WIRE = Object.freeze({
  FORMAT_HEADER: 'Thermocline-Format',
  EVENTS_HEADER: 'Thermocline-Events',
  SIGNAL_HEADER: 'Otlp-Signal',
  /** JetStream's own header: the publisher's message id, what the stream's duplicate window keys on. */
  MSG_ID_HEADER: 'Nats-Msg-Id',
  BATCH_FORMAT: 'tc-batch/1',
  OTLP_FORMAT: 'otlp-proto/1',
} as const);
