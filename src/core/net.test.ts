import net from 'node:net';
import t from 'tap';
import { freePorts } from './net.js';

const listenOn = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

t.test('freePorts hands out distinct ports, all free again once it resolves', async (t) => {
  for (let round = 0; round < 20; round++) {
    const ports = await freePorts(5);
    t.equal(new Set(ports).size, 5, `round ${round}: five distinct ports`);
    const servers = await Promise.all(ports.map(listenOn));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
});

t.test('a host that cannot be bound rejects with its error', async (t) => {
  await t.rejects(freePorts(3, '203.0.113.1'), { code: 'EADDRNOTAVAIL' });
});
