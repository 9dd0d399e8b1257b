/**
 * Subcommands beyond run/validate. Each lives in its own module; the list keeps `--help` in step.
 */
export interface Subcommand {
  name: string;
  usage: string;
  summary: string;
  run(args: string[]): Promise<number | undefined>;
}

export const extraCommands: Subcommand[] = [];
