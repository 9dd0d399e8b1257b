import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitAddress } from '../config/units.js';

/**
 * Listen on `address` (`host:port`); resolves with the bound address as `host:port` (IPv6 in
 * brackets), which differs from `address` when the port was 0. A failure to bind (port in use,
 * not an address of this machine) rejects with the server's error, for the caller to wrap in its
 * own code; later server errors are the caller's to log.
 */
export async function listen(server: http.Server, address: string): Promise<string> {
  const { host, port } = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
}
