import { consoleConfig } from './config.js';
import { defineSink } from '../../../index.js';
import { text } from './text.js';

/** Prints events, for trying pipelines out. */
export default defineSink({
  type: 'console',
  summary: 'Prints events to stdout or stderr.',
  config: consoleConfig,
  example: { encoding: 'text' },
  batch: { max_events: 1000, timeout_secs: 0.2 },
  create(config) {
    const out = config.target === 'stdout' ? process.stdout : process.stderr;
    return {
      async write(batch) {
        const lines = batch.map((e) => (config.encoding === 'json' ? JSON.stringify(e) : text(e))).join('\n');
        await new Promise<void>((resolve, reject) => out.write(`${lines}\n`, (err) => (err ? reject(err) : resolve())));
      },
    };
  },
});
