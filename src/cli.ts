#!/usr/bin/env node
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { runCommand } from './cli/run.js';
import { validateCommand } from './cli/validate.js';
import { builtinRegistry } from './plugins/registry.js';
import { extraCommands } from './cli/commands.js';

const HELP = `thermocline — a telemetry agent: sources → transforms → sinks, with a durable queue

Usage:
  thermocline run      [-c FILE] [-v|-vv|-q]   run the pipeline
  thermocline validate [-c FILE] [--healthchecks] [--no-plugins]
                                               check a config offline (exit 78 when invalid);
                                               it imports the custom plugins of [plugins] load,
                                               which runs their code: --no-plugins does not, and
                                               lists their components as not checked;
                                               --healthchecks also dials the sinks' databases
${extraCommands.map((c) => `  thermocline ${c.usage}\n${' '.repeat(47)}${c.summary}`).join('\n')}
  thermocline --version | --help

Options:
  -c, --config FILE   config file (default: $THERMOCLINE_CONFIG or ./thermocline.toml)
  -v                  debug logs (-vv: trace);  -q: errors only

Plugin types:
  sources:    ${builtinRegistry().types('source').join(', ')}
  transforms: ${builtinRegistry().types('transform').join(', ')}
  sinks:      ${builtinRegistry().types('sink').join(', ')}
`;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    console.log(`thermocline ${version()}`);
    return 0;
  }
  if (command === 'run' || command === 'validate') {
    const { values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', short: 'c' },
        verbose: { type: 'boolean', short: 'v', multiple: true },
        quiet: { type: 'boolean', short: 'q' },
        healthchecks: { type: 'boolean' },
        'no-plugins': { type: 'boolean' },
      },
      strict: true,
    });
    if (command === 'validate') return validateCommand({ config: values.config, healthchecks: values.healthchecks ?? false, plugins: values['no-plugins'] ? 'skip' : 'load' });
    return runCommand({ config: values.config, verbose: values.verbose?.length ?? 0, quiet: values.quiet ?? false });
  }
  const extra = extraCommands.find((c) => c.name === command);
  if (extra) return extra.run(rest);
  console.error(`unknown command "${command}"\n`);
  console.error(HELP);
  return 64;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 64 : 1;
  },
);
