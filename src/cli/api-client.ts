import { loadOrExplain } from './config.js';

/** The API base URL: --api, else the address in the config given with -c, else the default. */
export async function apiBase(api: string | undefined, config: string | undefined): Promise<string | undefined> {
  if (api) return api.startsWith('http') ? api : `http://${api}`;
  if (config) {
    const cfg = await loadOrExplain(config);
    if (!cfg) return undefined;
    return `http://${cfg.api.address.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
  }
  return 'http://127.0.0.1:8686';
}

export function unreachable(base: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  return `cannot reach the agent's API at ${base} (${cause}): is \`thermocline run\` running, with [api] enabled? Use --api host:port or -c <config>.`;
}
