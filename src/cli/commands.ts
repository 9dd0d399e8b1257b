/**
 * Subcommands beyond run/validate. Each lives in its own module; the list keeps `--help` in step.
 */
export interface Subcommand {
  name: string;
  usage: string;
  summary: string;
  run(args: string[]): Promise<number | undefined>;
}

import { deadLetterCommand } from './dead-letter.js';
import { exportRollupsCommand } from './export-rollups.js';
import { migrateCommand } from './migrate.js';
import { schemasCommand } from './schemas.js';
import { tapCommand } from './tap.js';
import { topCommand } from './top.js';

export const DEMO_USAGE = 'demo [-c FILE] [--data-dir DIR] [--traces N]';

/**
 * The demo sends with the OpenTelemetry SDK (development dependencies) and reads back from both
 * stores: it is loaded only when asked for, so `run` and `validate` never load it.
 */
const demoCommand: Subcommand = {
  name: 'demo',
  usage: DEMO_USAGE,
  summary: 'run the default pipeline in-process, send OTLP traces/logs/metrics and log lines, show what landed where',
  run: async (args) => (await import('../demo/demo.js')).demoMain(args),
};

export const extraCommands: Subcommand[] = [migrateCommand, exportRollupsCommand, tapCommand, topCommand, deadLetterCommand, schemasCommand, demoCommand];
