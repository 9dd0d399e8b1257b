import t from 'tap';
import { runConformance } from '../../../testing/index.js';
import plugin from './index.js';

await runConformance(t, plugin, { folder: new URL('.', import.meta.url) });
