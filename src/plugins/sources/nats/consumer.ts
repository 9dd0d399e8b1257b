import type { AckPolicy, Consumer, DeliverPolicy, JetStreamManager, NatsConnection } from 'nats';
import { NATS_ERRORS, natsConnectionError, natsNanos, RetryableError, ThermoclineError } from '../../../index.js';
import type { NatsSourceConfig } from './config.js';
import { NATS_SOURCE_ERRORS } from './errors.js';

/** JetStream API codes (the server's JSConsumerNotFoundErr, JSStreamNotFoundErr). */
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;

function apiCode(err: unknown): number | undefined {
  const e = err as { api_error?: { err_code?: number } };
  return e.api_error?.err_code;
}

/**
 * The durable pull consumer the gateways of a pool share, created by the first one to start.
 * Explicit acknowledgement: a message counts as consumed only once a gateway committed it.
 */
export async function ensureConsumer(nc: NatsConnection, config: NatsSourceConfig): Promise<Consumer> {
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager({ timeout: config.request_timeout });
  } catch (err) {
    if (/503|no responders|not enabled/i.test(`${(err as { code?: string }).code} ${(err as Error).message}`)) {
      throw new RetryableError(`JetStream is not available on ${config.servers.join(', ')}: ${(err as Error).message}`, { code: NATS_ERRORS.TC_NATS_NO_JETSTREAM, cause: err });
    }
    throw natsConnectionError(err, config.servers);
  }
  const wanted = { max_ack_pending: config.max_ack_pending, ack_wait: natsNanos(config.ack_wait) };
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await jsm.consumers.info(config.stream, config.consumer);
      if (info.config.deliver_subject) throw new ThermoclineError(NATS_SOURCE_ERRORS.TC_NATS_CONSUMER, `consumer ${config.consumer} on stream ${config.stream} is a push consumer; the nats source needs a pull consumer`);
      if ((info.config.filter_subject ?? '') !== (config.filter_subject ?? '')) {
        throw new ThermoclineError(NATS_SOURCE_ERRORS.TC_NATS_CONSUMER, `consumer ${config.consumer} filters "${info.config.filter_subject ?? ''}", the config says "${config.filter_subject ?? ''}"`);
      }
      if (info.config.max_ack_pending !== wanted.max_ack_pending || info.config.ack_wait !== wanted.ack_wait) {
        await jsm.consumers.update(config.stream, config.consumer, wanted);
      }
      break;
    } catch (err) {
      if (err instanceof ThermoclineError) throw err;
      const code = apiCode(err);
      if (code === STREAM_NOT_FOUND || /stream not found/i.test((err as Error).message)) {
        throw new RetryableError(`stream ${config.stream} does not exist (a nats sink creates it)`, { code: NATS_ERRORS.TC_NATS_STREAM_MISSING, cause: err });
      }
      if (code !== CONSUMER_NOT_FOUND && !/consumer not found/i.test((err as Error).message)) throw classify(err, config);
      try {
        await jsm.consumers.add(config.stream, {
          durable_name: config.consumer,
          // The client's enum values, written out: importing its enums would load it (loadNats).
          ack_policy: 'explicit' as AckPolicy,
          deliver_policy: 'all' as DeliverPolicy,
          ...(config.filter_subject ? { filter_subject: config.filter_subject } : {}),
          ...wanted,
        });
        break;
      } catch (addErr) {
        // Another gateway of the pool created it at the same moment: read that one.
        if (attempt < 3 && /already in use|already exists/i.test((addErr as Error).message)) continue;
        throw classify(addErr, config);
      }
    }
  }
  const js = nc.jetstream({ timeout: config.request_timeout });
  return js.consumers.get(config.stream, config.consumer);
}

function classify(err: unknown, config: NatsSourceConfig): Error {
  const message = (err as Error).message ?? String(err);
  if (/permission|authorization/i.test(message)) return new RetryableError(`NATS denied the consumer operation: ${message}`, { code: NATS_ERRORS.TC_NATS_AUTH, cause: err });
  if (/timeout|CONNECTION|disconnect|closed/i.test(`${(err as { code?: string }).code} ${message}`)) return natsConnectionError(err, config.servers);
  return new RetryableError(`cannot create or read consumer ${config.consumer} on stream ${config.stream}: ${message}`, { code: NATS_SOURCE_ERRORS.TC_NATS_CONSUMER, cause: err });
}
