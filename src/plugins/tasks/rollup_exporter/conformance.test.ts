import t from 'tap';
import { runConformance } from '../../../testing/index.js';
import plugin from './index.js';

// Every check, the lifecycle included: the example reads an embedded PostgreSQL and writes to chdb,
// both in the test's data directory.
await runConformance(t, plugin, { folder: new URL('.', import.meta.url) });
