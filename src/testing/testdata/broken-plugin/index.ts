import { z } from 'zod';
import { ThermoclineError, type ErrorCode } from '../../../core/errors.js';
import { defineSink } from '../../../core/plugin/define.js';

/** A sink that breaks every rule the conformance kit checks, so its test can see each reported. */
export default defineSink({
  type: 'BrokenPlugin',
  summary: '',
  config: z.object({ endpoint: z.string(), tls: z.object({ ca: z.string().optional() }).default({}) }),
  example: { endpoint: 42 },
  create() {
    let stopped = false;
    return {
      async write() {
        // Cast on purpose: this plugin exists to throw a code that no module defines.
        throw new ThermoclineError('TC_BROKEN_NOT_CATALOGUED' as ErrorCode, 'never catalogued');
      },
      async stop() {
        if (stopped) throw new Error('stopped twice');
        stopped = true;
      },
    };
  },
});
