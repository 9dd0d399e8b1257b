import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Long synchronous work (decoding a large request) written as a generator that `yield`s at item
 * boundaries, run either at once or in slices. Between slices the event loop runs timers and
 * other requests, so that one 20 MiB request does not stall `/health` or every other client for
 * the seconds its decode takes. A generator keeps the decoder one piece of synchronous code with
 * no promise per item; only the driver knows about time.
 */
export type Sliced<T> = Generator<void, T, void>;

/** Run to completion without pausing (tests, benchmarks, small inputs). */
export function runAtOnce<T>(work: Sliced<T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

/**
 * Run `work`, handing the event loop back (`setImmediate`, after pending I/O) whenever a slice
 * has taken `sliceMs`. The clock is read only at the points where `work` yields, so a decoder
 * should yield every few dozen items rather than on every one.
 */
export async function runInSlices<T>(work: Sliced<T>, sliceMs: number): Promise<T> {
  let deadline = performance.now() + sliceMs;
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    if (performance.now() >= deadline) {
      await nextTurn();
      deadline = performance.now() + sliceMs;
    }
  }
}
