import { loadOrExplain } from './config.js';

/** Where the CLI reaches the agent's API, and the headers it sends there. */
export interface ApiTarget {
  base: string;
  headers: Record<string, string>;
}

/**
 * The API base URL (--api, else the address in the config given with -c, else the default) and
 * its bearer token: the config's `[api] auth.bearer_token` when -c is given, else the
 * `THERMOCLINE_API_TOKEN` environment variable, so that `--api` users need not write a config.
 */
export async function apiTarget(api: string | undefined, config: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ApiTarget | undefined> {
  let base = 'http://127.0.0.1:8686';
  let token = env.THERMOCLINE_API_TOKEN || undefined;
  if (config) {
    const cfg = await loadOrExplain(config);
    if (!cfg) return undefined;
    base = `http://${cfg.api.address.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
    token = cfg.api.auth?.bearer_token ?? token;
  }
  if (api) base = api.startsWith('http') ? api : `http://${api}`;
  return { base, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } };
}

export function unreachable(base: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  return `cannot reach the agent's API at ${base} (${cause}): is \`thermocline run\` running, with [api] enabled? Use --api host:port or -c <config>.`;
}
