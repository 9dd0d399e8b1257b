import net from 'node:net';

/**
 * `count` distinct TCP ports on `host` that were free a moment ago, for servers that must be
 * told their port before they start (an embedded PostgreSQL, a child agent's API and OTLP
 * listeners). The probes are held open together: closing each before opening the next lets the
 * kernel hand out the same port twice, and the two listeners then collide. Another process may
 * still take a port before it is used; callers that can listen on port 0 should.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const probes: net.Server[] = [];
  try {
    return await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<number>((resolve, reject) => {
            const probe = net.createServer();
            probes.push(probe);
            probe.unref();
            probe.once('error', reject);
            probe.listen(0, host, () => resolve((probe.address() as net.AddressInfo).port));
          }),
      ),
    );
  } finally {
    await Promise.all(probes.map((p) => new Promise((resolve) => (p.listening ? p.close(resolve) : resolve(undefined)))));
  }
}
