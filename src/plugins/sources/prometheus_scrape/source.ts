import { errorMessage, RateLimitedLog, type SourceContext, type SourceInstance } from '../../../index.js';
import type { PrometheusScrapeConfig } from './config.js';
import { FileSd } from './file-sd.js';
import { ScrapeClient } from './http.js';
import { LabelMerger } from './labels.js';
import { TargetLoop } from './scheduler.js';
import { redact, Scraper } from './scrape.js';
import { discoveredTarget, staticTargets, type ScrapeTarget, type TargetGroup } from './targets.js';
import { PROM_SCRAPE_ERRORS } from './errors.js';

/**
 * The running source: one scrape loop per target (static endpoints and file-SD targets, kept in
 * step with the files), the shared HTTP client, and the plugin's own counters. Scraping keeps no
 * checkpoint: what was not scraped cannot be replayed.
 */
export function createSource(config: PrometheusScrapeConfig, ctx: SourceContext): SourceInstance {
  const job = config.job ?? ctx.id;
  const client = new ScrapeClient(config);
  const log = new RateLimitedLog(ctx.logger);
  const counters = {
    scrapes: ctx.metrics.counter('scrapes_total', 'Scrapes attempted.'),
    failures: ctx.metrics.counter('scrape_failures_total', "Scrapes that failed (the target's up = 0)."),
    malformedLines: ctx.metrics.counter('malformed_lines_total', 'Exposition lines that could not be parsed and were skipped.'),
    skipped: ctx.metrics.counter(
      'skipped_scrapes_total',
      'Due scrapes skipped because a blocking sink queue was full or the previous scrape of the target was still being delivered.',
    ),
    fileSdErrors: ctx.metrics.counter('file_sd_errors_total', 'Target files that could not be read or parsed (their previous targets were kept).'),
  };
  const targetsGauge = ctx.metrics.gauge('targets', 'Targets currently scraped.');
  const scraper = new Scraper({
    config,
    client,
    log,
    emit: (events) => ctx.emit(events),
    receivedBytes: (bytes) => ctx.metrics.received(0, bytes),
    errors: (type, n) => ctx.metrics.error(type, n),
    counters,
  });
  const loops = new Map<string, TargetLoop>();
  let fileSd: FileSd | undefined;
  let discovered: ScrapeTarget[] = [];
  const fixed = () => staticTargets(config, job);

  /** Start loops for new targets and stop those of targets that are gone. */
  const sync = (targets: ScrapeTarget[]): Promise<unknown> => {
    const wanted = new Map(targets.map((t) => [t.key, t]));
    const stopping: Array<Promise<void>> = [];
    for (const [key, loop] of loops) {
      if (wanted.has(key)) continue;
      loops.delete(key);
      stopping.push(loop.stop());
    }
    for (const [key, target] of wanted) {
      if (loops.has(key)) continue;
      // Kept across the target's scrapes: the label plans of its label-name lists.
      const labels = new LabelMerger(target.labels, config.honor_labels);
      const loop = new TargetLoop(key, config.interval, {
        scrape: (signal) => scraper.scrape(target, labels, signal),
        isBlocked: () => ctx.isBlocked(),
        skipped: (_reason, slots) => counters.skipped.inc(slots),
        failed: (err) => log.error(`loop ${key}`, { err: errorMessage(err) }, `a scrape of ${redact(target.url)} threw: ${errorMessage(err)}`),
      });
      loops.set(key, loop);
      loop.start();
    }
    targetsGauge.set(loops.size);
    return Promise.all(stopping);
  };

  const onGroups = (groups: TargetGroup[]) => {
    const next: ScrapeTarget[] = [];
    for (const group of groups) {
      for (const address of group.targets) {
        const target = discoveredTarget(config, job, address, group.labels);
        if (typeof target === 'string') log.warn(`file_sd target ${address}`, { code: PROM_SCRAPE_ERRORS.TC_PROM_FILE_SD }, `file_sd target skipped: ${target}`);
        else next.push(target);
      }
    }
    const before = discovered.length;
    discovered = next;
    ctx.logger.info({ targets: next.length, before }, 'file_sd targets updated');
    void sync([...fixed(), ...discovered]);
  };

  return {
    async start() {
      await client.start();
      void sync(fixed());
      if (config.file_sd && !fileSd) {
        const discovery = new FileSd({
          files: config.file_sd.files,
          refreshMs: config.file_sd.refresh_interval,
          onGroups,
          onError: (file, message) => {
            counters.fileSdErrors.inc();
            log.warn(`file_sd ${file}`, { code: PROM_SCRAPE_ERRORS.TC_PROM_FILE_SD, file }, `file_sd: ${file}: ${message}; keeping its previous targets`);
          },
        });
        try {
          await discovery.start();
        } catch (err) {
          await discovery.stop();
          throw err;
        }
        fileSd = discovery;
      }
    },
    async stop() {
      await fileSd?.stop();
      fileSd = undefined;
      await sync([]);
      await client.close();
    },
  };
}
