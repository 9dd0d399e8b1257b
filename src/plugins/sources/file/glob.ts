import path from 'node:path';

/**
 * Glob patterns for `include` / `exclude`. Node 20 has no `fs.glob` and chokidar dropped glob
 * support in v4, so patterns are compiled here into per-segment regular expressions. Matching
 * segment by segment (rather than one regex over the whole path) also answers "could anything
 * below this directory match?", which prunes the directory walk and the watcher.
 *
 * Supported: `*` and `?` within one path segment, `[abc]` / `[a-z]` / `[!a]` classes, `{a,b}`
 * alternatives (without `/` inside), and `**` as a whole segment for any number of directories.
 */

const GLOBSTAR = Symbol('**');
type Segment = RegExp | typeof GLOBSTAR;

export interface Glob {
  /** The pattern as written, made absolute. */
  readonly pattern: string;
  /** The longest leading directory without glob characters: where walking and watching start. */
  readonly base: string;
  /** Segments after `base`. */
  readonly segments: readonly Segment[];
}

const META = /[*?[\]{}]/;

function hasGlobMeta(segment: string): boolean {
  return META.test(segment);
}

/** Why `pattern` cannot be compiled, or undefined when it is fine. Pure, for config validation. */
export function globProblem(pattern: string): string | undefined {
  try {
    compileGlob(pattern, '/');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function compileGlob(pattern: string, cwd: string): Glob {
  if (pattern.trim() === '') throw new Error('a pattern must not be empty');
  const absolute = path.resolve(cwd, pattern);
  const parts = absolute.split('/').filter((p) => p !== '');
  let i = 0;
  while (i < parts.length && !hasGlobMeta(parts[i] as string)) i++;
  // A pattern without glob characters names one file: its directory is the base.
  if (i === parts.length) i = parts.length - 1;
  const base = `/${parts.slice(0, i).join('/')}`;
  const segments: Segment[] = parts.slice(i).map((s) => (s === '**' ? GLOBSTAR : segmentRegex(s, pattern)));
  if (segments.length === 0 || segments[segments.length - 1] === GLOBSTAR) {
    throw new Error(`"${pattern}" must end in a file name pattern, e.g. "${pattern.replace(/\/?\*\*$/, '')}/**/*.log"`);
  }
  return { pattern: absolute, base, segments };
}

function segmentRegex(segment: string, pattern: string): RegExp {
  if (segment.includes('**')) throw new Error(`"${pattern}": "**" must be a whole path segment, as in "/var/log/**/*.log"`);
  let re = '';
  let braces = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    switch (c) {
      case '*':
        re += '[^/]*';
        break;
      case '?':
        re += '[^/]';
        break;
      case '[': {
        const close = segment.indexOf(']', i + 2);
        if (close < 0) throw new Error(`"${pattern}": unclosed "[" in a character class`);
        let body = segment.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
        break;
      }
      case '{':
        braces++;
        re += '(?:';
        break;
      case '}':
        if (braces === 0) throw new Error(`"${pattern}": "}" without "{"`);
        braces--;
        re += ')';
        break;
      case ',':
        re += braces > 0 ? '|' : ',';
        break;
      case ']':
        throw new Error(`"${pattern}": "]" without "["`);
      default:
        re += c.replace(/[.+^$()|\\]/g, '\\$&');
    }
  }
  if (braces > 0) throw new Error(`"${pattern}": unclosed "{" (alternatives cannot contain "/")`);
  return new RegExp(`^${re}$`);
}

/** Path segments of `file` below `glob.base`, or undefined when it is not below it. */
function relativeSegments(glob: Glob, file: string): string[] | undefined {
  const base = glob.base === '/' ? '/' : `${glob.base}/`;
  if (!file.startsWith(base)) return undefined;
  return file.slice(base.length).split('/');
}

function matchFrom(segs: readonly Segment[], i: number, parts: readonly string[], j: number, prefix: boolean): boolean {
  if (j === parts.length) return prefix ? i < segs.length : i === segs.length;
  if (i === segs.length) return false;
  const s = segs[i] as Segment;
  if (s === GLOBSTAR) return matchFrom(segs, i + 1, parts, j, prefix) || matchFrom(segs, i, parts, j + 1, prefix);
  return s.test(parts[j] as string) && matchFrom(segs, i + 1, parts, j + 1, prefix);
}

/** True when the absolute path `file` matches the glob. */
export function globMatches(glob: Glob, file: string): boolean {
  const parts = relativeSegments(glob, file);
  return parts !== undefined && matchFrom(glob.segments, 0, parts, 0, false);
}

/** True when some path below directory `dir` could match (so walking into it is worthwhile). */
export function globMayContain(glob: Glob, dir: string): boolean {
  if (dir === glob.base) return true;
  const parts = relativeSegments(glob, dir);
  if (parts !== undefined) return matchFrom(glob.segments, 0, parts, 0, true);
  // `dir` is above the base (a parent of it): the walk passes through it.
  return glob.base.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/** `include` minus `exclude`, as one predicate for files and one for directories. */
export class PathFilter {
  readonly include: readonly Glob[];
  readonly exclude: readonly Glob[];

  constructor(include: readonly string[], exclude: readonly string[], cwd: string) {
    this.include = include.map((p) => compileGlob(p, cwd));
    this.exclude = exclude.map((p) => compileGlob(p, cwd));
  }

  /** Directories to walk and watch: the include bases, without ones nested in another. */
  roots(): string[] {
    const bases = [...new Set(this.include.map((g) => g.base))].sort();
    return bases.filter((b) => !bases.some((o) => o !== b && (o === '/' || b.startsWith(`${o}/`))));
  }

  matches(file: string): boolean {
    return this.include.some((g) => globMatches(g, file)) && !this.exclude.some((g) => globMatches(g, file));
  }

  mayContain(dir: string): boolean {
    return this.include.some((g) => globMayContain(g, dir));
  }
}
