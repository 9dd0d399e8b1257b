import t from 'tap';
import { runConformance } from '../../../testing/index.js';
import plugin from './index.js';

// Every check, the lifecycle included: the example's url = "embedded" starts an embedded PostgreSQL
// in the test's data directory.
await runConformance(t, plugin, { folder: new URL('.', import.meta.url) });
