import { ApiServer } from '../core/api/server.js';
import { dataDirExposure } from '../core/buffer/private-files.js';
import { createLogger } from '../core/runtime/logger.js';
import { Runtime } from '../core/runtime/runtime.js';
import { configPath, EXIT_CONFIG, EXIT_FAILURE, loadOrExplain, printError } from './config.js';
import { installProcessGuards } from './process-guards.js';
import { raiseNofileLimit } from './nofile.js';

export interface RunFlags {
  config?: string;
  verbose: number;
  quiet: boolean;
}

/**
 * `thermocline run`: start the pipeline, serve the API, stop gracefully on SIGTERM/SIGINT
 * (a second signal exits at once), reload on SIGHUP (keeping the old pipeline if the new config
 * is invalid).
 */
export async function runCommand(flags: RunFlags): Promise<number | undefined> {
  // First of all: nothing that starts below (config plugins, sinks' clients) may end the process.
  const guards = installProcessGuards(createLogger({ level: 'info' }));
  const file = configPath(flags.config);
  const config = await loadOrExplain(file);
  if (!config) return EXIT_CONFIG;
  const level = flags.quiet ? 'error' : flags.verbose >= 2 ? 'trace' : flags.verbose === 1 ? 'debug' : config.log.level;
  const logger = createLogger({ level, secrets: config.secrets });
  guards.useLogger(logger);
  // Before any source opens files; never fails the start (see nofile.ts).
  await raiseNofileLimit(logger).catch((err: unknown) => logger.warn({ err }, 'could not read or raise the open files limit'));
  const exposure = dataDirExposure(config.dataDir);
  if (exposure) logger.warn({ data_dir: config.dataDir }, exposure);
  // Signals are handled from the first moment: a stop that arrives while the sinks are still
  // starting (an embedded PostgreSQL's initdb takes seconds) must stop gracefully too, not kill.
  let runtime: Runtime | undefined;
  let stopping = false;
  const api = new ApiServer(() => runtime as Runtime, config.api);
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    if (!runtime) return; // the start below sees `stopping` and stops what it started
    await api.close();
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  try {
    runtime = await Runtime.start(config, { logger });
  } catch (err) {
    logger.fatal({ err }, (err as Error).message);
    printError(err);
    return EXIT_FAILURE;
  }
  if (stopping) {
    await runtime.stop();
    process.exit(0);
  }
  if (config.api.enabled) {
    try {
      const addr = await api.listen(config.api.address);
      logger.info({ address: `${addr.address}:${addr.port}` }, 'API listening');
    } catch (err) {
      printError(err);
      await runtime.stop();
      return EXIT_FAILURE;
    }
  }

  process.on('SIGHUP', () => {
    void (async () => {
      logger.info('SIGHUP: reloading configuration');
      const next = await loadOrExplain(file);
      if (!next) {
        logger.error({ file }, 'new configuration is invalid; keeping the running pipeline');
        return;
      }
      try {
        await runtime?.reload(next);
      } catch (err) {
        logger.error({ err }, `reload failed: ${(err as Error).message}`);
      }
    })();
  });
  // The agent runs until it is told to stop, even when nothing else holds the event loop (a
  // generator that reached its count, the API disabled): a process that exits because its loop
  // went idle skips the graceful stop, and a SIGTERM racing that exit kills it instead.
  setInterval(() => undefined, 2 ** 30);
  return undefined;
}
