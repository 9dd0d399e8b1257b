/** A sleep that ends early (resolving false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const abortPromises = new WeakMap<AbortSignal, Promise<void>>();

/** Resolves when the signal aborts (never, if it does not). One listener per signal, however often it is awaited. */
export function aborted(signal: AbortSignal): Promise<void> {
  let p = abortPromises.get(signal);
  if (!p) {
    p = signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    abortPromises.set(signal, p);
  }
  return p;
}

/** Exponential backoff with jitter: the wait before attempt `attempt + 1`, in milliseconds. */
export function backoffMs(attempt: number, initialSecs: number, maxSecs: number, random = Math.random): number {
  const base = Math.min(maxSecs, initialSecs * 2 ** Math.max(0, attempt - 1)) * 1000;
  return Math.round(base / 2 + (random() * base) / 2);
}

/** Run `fn`, but stop waiting for it after `ms` (it keeps running); true when it finished in time. */
export async function withDeadline(fn: () => Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([fn().then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait for any of `promises`, but at most `ms`; the timer is cleared either way. */
export async function raceTimeout(ms: number, ...promises: Array<Promise<unknown>>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([...promises, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
