import { CORE_ERRORS, ThermoclineError } from '../errors.js';

/**
 * A queued batch whose bytes are not what the agent wrote: its checksum does not match, or it
 * does not parse. Thrown by `decodeBatch`; the batch is dead-lettered with the reason `corrupt`
 * and never forwarded (docs/delivery.md#what-is-not-covered).
 */
export class CorruptBatchError extends ThermoclineError {
  /** The reason the dead-letter entry gives. */
  readonly reason = 'corrupt';

  constructor(detail: string, options?: { cause?: unknown }) {
    super(CORE_ERRORS.TC_QUEUE_BATCH_CORRUPT, `corrupt: ${detail}`, options);
    this.name = 'CorruptBatchError';
  }
}
