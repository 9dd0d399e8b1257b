import { defineSource, natsConnectionIssues } from '../../../index.js';
import { natsSourceConfig } from './config.js';
import { NATS_SOURCE_ERRORS } from './errors.js';
import { Reader } from './reader.js';

/**
 * Reads a JetStream stream through a durable pull consumer that every gateway of a pool shares,
 * and acknowledges a message only after its events are committed to the queue, with the stream
 * sequences in the same transaction and each message as an origin of its own (docs/scaling.md).
 */
export default defineSource({
  type: 'nats',
  summary: 'Reads batches from a NATS JetStream stream through a shared durable consumer, exactly once into the queue.',
  config: natsSourceConfig,
  errors: NATS_SOURCE_ERRORS,
  example: { servers: ['nats://127.0.0.1:4222'], stream: 'TELEMETRY' },
  validate(config) {
    return natsConnectionIssues(config);
  },
  create(config, ctx) {
    let reader: Reader | undefined;
    return {
      async start() {
        reader ??= new Reader(config, ctx);
        await reader.connect();
        reader.run();
      },
      async stop() {
        await reader?.stop();
      },
    };
  },
});
