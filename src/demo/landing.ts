/**
 * Waiting for the burst to land: until every row the demo sent is found in its table and no sink
 * queue holds anything. When that does not happen in time, the error names what is missing, the
 * components that are not running or still hold events, and the agent's last warnings.
 */
import { sleep } from '../core/runtime/timing.js';
import type { DemoAgent } from './agent.js';
import { DemoError } from './errors.js';
import { seconds } from './format.js';
import type { Landing } from './stores.js';

export async function waitLanded(agent: DemoAgent, check: () => Promise<Landing[]>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [landings, list] = await Promise.all([check(), agent.components()]);
    const queued = list.reduce((n, c) => n + (c.queue?.events ?? 0), 0);
    if (queued === 0 && landings.every((l) => l.have >= l.want)) return;
    if (Date.now() > deadline) {
      const missing = landings.filter((l) => l.have < l.want).map((l) => `${l.what}: ${l.have} of ${l.want}`);
      const stuck = list.filter((c) => c.state !== 'running' || (c.queue?.events ?? 0) > 0);
      const describe = stuck.map(
        (c) => `${c.id} (${c.type}) ${c.state}${c.queue?.events ? `, ${c.queue.events} events queued` : ''}${c.error ? `: ${c.error}` : ''}`,
      );
      throw new DemoError(`not everything landed within ${seconds(timeoutMs)}: ${missing.length > 0 ? missing.join('; ') : `${queued} events still queued`}`, {
        details: [
          stuck.length > 0 ? `stuck: ${describe.join('; ')}` : 'every component is running and every queue is empty: the missing rows never reached a sink',
          ...agent.problems(),
        ],
      });
    }
    if (!(await sleep(500, signal))) throw new DemoError('interrupted');
  }
}
