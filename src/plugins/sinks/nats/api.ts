/**
 * What the nats sink offers the nats source and other plugins that speak to the same bus
 * (re-exported by src/index.ts): the connection options and client, their error codes, and the
 * names of the message format's headers (docs/scaling.md).
 */
export { NATS_ERRORS } from './errors.js';
export {
  loadNats,
  natsConnectionError,
  natsConnectionIssues,
  natsConnectionOptions,
  natsNanos,
  openNatsConnection,
  type NatsClient,
  type NatsConnectionConfig,
} from './connection.js';
export { NATS_WIRE } from './wire.js';
