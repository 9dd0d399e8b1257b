/**
 * A small reader of the repository's Dockerfile, so that tests run the steps the file actually
 * contains instead of a copy of them. It understands what that file uses: stages (`FROM … AS`),
 * line continuations, comments, and the JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK.
 */
export interface Instruction {
  readonly keyword: string;
  /** The arguments as written, continuations joined. */
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let current = lines[i] ?? '';
    if (/^\s*(#|$)/.test(current)) continue;
    while (current.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i] ?? '';
      if (/^\s*#/.test(next)) continue; // comments inside a continuation are dropped by Docker too
      current = `${current.trimEnd().slice(0, -1)} ${next.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(current);
    if (!m) throw new Error(`Dockerfile line ${first}: cannot read ${JSON.stringify(current)}`);
    instructions.push({ keyword: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line: first });
  }
  const stages: { name: string; from: string; instructions: Instruction[] }[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ name: m[2] ?? String(stages.length), from: m[1] as string, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
      stage.instructions.push(ins);
    }
  }
  return stages;
}

/** The exec form `["a", "b"]` of CMD, ENTRYPOINT or HEALTHCHECK's CMD; shell form is refused. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return parsed;
}

/** `ENV A=1 B=2` (the key=value form, values without spaces). */
export function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of args.split(/\s+/)) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`ENV needs KEY=value pairs: ${args}`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** `COPY [--from=stage] [--chown=…] src… dest`. */
export function copyArgs(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { ...(from === undefined ? {} : { from }), sources: words, dest };
}

/** HEALTHCHECK's options and its command. */
export function healthcheck(args: string): { options: Record<string, string>; command: string[] } {
  const m = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/.exec(args);
  if (!m) throw new Error(`HEALTHCHECK must be [options] CMD [exec form]: ${args}`);
  const options = Object.fromEntries(
    (m[1] as string)
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((o) => o.slice(2).split('=') as [string, string]),
  );
  return { options, command: execForm(m[2] as string) };
}
