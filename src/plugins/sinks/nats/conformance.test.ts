import t from 'tap';
import { runConformance, startNats } from '../../../testing/index.js';
import plugin from './index.js';

// Every check, the lifecycle included, against a JetStream server of the test's own (the sink
// connects lazily, but its stop must close what a health check or a write opened).
const nats = await startNats(t);
await runConformance(t, plugin, { folder: new URL('.', import.meta.url), options: { ...plugin.example, servers: [nats.url] } });
