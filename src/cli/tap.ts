import { parseArgs } from 'node:util';
import type { Subcommand } from './commands.js';
import { apiTarget, unreachable } from './api-client.js';

/** `thermocline tap <component>`: print events leaving a source or transform, as JSON lines. */
export const tapCommand: Subcommand = {
  name: 'tap',
  usage: 'tap <component> [--limit N] [--sample R] [--api HOST:PORT | -c FILE]',
  summary: 'print events flowing out of a component (JSON lines, sampled)',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { limit: { type: 'string' }, sample: { type: 'string' }, api: { type: 'string' }, config: { type: 'string', short: 'c' } },
      allowPositionals: true,
      strict: true,
    });
    const id = positionals[0];
    if (!id) {
      console.error('usage: thermocline tap <component> [--limit N] [--sample R]');
      return 64;
    }
    const target = await apiTarget(values.api, values.config);
    if (!target) return 78;
    const { base, headers } = target;
    const url = new URL(`/tap/${encodeURIComponent(id)}`, base);
    url.searchParams.set('limit', values.limit ?? '100');
    if (values.sample) url.searchParams.set('sample', values.sample);
    let res: Response;
    try {
      res = await fetch(url, { headers });
    } catch (err) {
      console.error(unreachable(base, err));
      return 1;
    }
    if (!res.ok || !res.body) {
      console.error(`error: ${res.status} ${(await res.text()).trim()}`);
      return 1;
    }
    const decoder = new TextDecoder();
    for await (const chunk of res.body) process.stdout.write(decoder.decode(chunk as Uint8Array, { stream: true }));
    return 0;
  },
};
