import t from 'tap';
import { createNatsStream, runConformance, startNats } from '../../../testing/index.js';
import plugin from './index.js';

// Every check, the lifecycle included: the source starts against a JetStream server of the
// test's own, on a stream that exists (a nats sink would have created it).
const nats = await startNats(t);
await createNatsStream(nats.url, 'TELEMETRY', ['telemetry.>']);
await runConformance(t, plugin, { folder: new URL('.', import.meta.url), options: { ...plugin.example, servers: [nats.url] } });
