import net from 'node:net';

/** The names a browser sends in `Host` only for a page that is itself on this machine. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));

/** The host name of a `Host` header, lower case, brackets kept for IPv6; undefined when malformed. */
function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1];
}

/**
 * Whether a request's `Host` may be answered. A page on another site can reach a loopback API
 * by pointing its own name at 127.0.0.1 (DNS rebinding); its requests then carry that name in
 * `Host`, which is the one thing the page cannot forge. So a loopback listener answers only the
 * loopback names and `allowed`; a listener on another address is meant to be reached by many
 * names and answers any, unless `allowed` narrows it.
 */
export function hostGuard(bindHost: string, allowed: readonly string[]): (header: string | undefined) => boolean {
  const extra = new Set(allowed.map((h) => h.toLowerCase()));
  const open = !isLoopback(bindHost) && extra.size === 0;
  return (header) => {
    // HTTP/1.0 clients may omit Host; browsers never do, and Node refuses HTTP/1.1 without it.
    if (header === undefined) return true;
    const name = hostName(header);
    if (name === undefined) return false;
    return open || LOOPBACK_NAMES.has(name) || extra.has(name);
  };
}
