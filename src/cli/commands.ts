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
import { demoCommand } from './demo.js';
import { exportRollupsCommand } from './export-rollups.js';
import { migrateCommand } from './migrate.js';
import { schemasCommand } from './schemas.js';
import { tapCommand } from './tap.js';
import { topCommand } from './top.js';

export const extraCommands: Subcommand[] = [migrateCommand, exportRollupsCommand, tapCommand, topCommand, deadLetterCommand, schemasCommand, demoCommand];
