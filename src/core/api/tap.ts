import type http from 'node:http';
import { CORE_ERRORS } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';

export interface TapOptions {
  limit: number;
  sample: number;
  /** Unsent bytes a reader may have queued before its events are dropped. */
  maxBufferBytes: number;
}

/**
 * Streams a component's events as JSON lines. Events arrive at the pipeline's pace, not the
 * reader's: a reader that stops reading would otherwise have every event queued in memory for
 * it. Once `maxBufferBytes` wait unsent, events are dropped for this reader and counted; when
 * the queue drains, a `{"dropped": N}` line tells the reader what it missed.
 */
export function tapStream(rt: Runtime, id: string, options: TapOptions, req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders(); // the client sees the stream open before the first event flows
  let sent = 0;
  let dropped = 0;
  const full = () => res.writableLength >= options.maxBufferBytes;
  const reportDropped = () => {
    if (dropped === 0 || full()) return;
    res.write(`${JSON.stringify({ component: id, dropped, code: CORE_ERRORS.TC_API_TAP_DROPPED })}\n`);
    dropped = 0;
  };
  const untap = rt.tap(id, (events, output) => {
    let missed = 0;
    for (const e of events) {
      if (sent >= options.limit) break;
      if (options.sample < 1 && Math.random() >= options.sample) continue;
      if (full()) {
        missed++;
        continue;
      }
      reportDropped();
      sent++;
      res.write(`${JSON.stringify({ component: id, output: output || undefined, event: e })}\n`);
    }
    if (missed > 0) {
      dropped += missed;
      rt.metrics.tapDroppedEvents(id, missed);
    }
    if (sent >= options.limit) finish();
  });
  const finish = () => {
    untap();
    reportDropped();
    res.end();
  };
  res.on('drain', reportDropped);
  req.on('close', untap);
}
