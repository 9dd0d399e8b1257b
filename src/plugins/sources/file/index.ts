import { defineSource } from '../../../index.js';
import { fileConfig } from './config.js';
import { FILE_SOURCE_ERRORS } from './errors.js';
import { Tailer } from './tailer.js';

/**
 * Tails log files: globbed, watched, checkpointed in the same transaction as the lines
 * they produced, following rename and copytruncate rotation without losing or repeating lines.
 */
export default defineSource({
  type: 'file',
  summary: 'Tails log files with checkpoints, rotation handling and JSON/logfmt parsing.',
  errors: FILE_SOURCE_ERRORS,
  config: fileConfig,
  example: { include: ['/var/log/thermocline-example/*.log'] },
  create(config, ctx) {
    let tailer: Tailer | undefined;
    return {
      async start() {
        tailer ??= new Tailer(config, ctx);
        tailer.start();
      },
      async stop() {
        await tailer?.stop();
      },
    };
  },
});
