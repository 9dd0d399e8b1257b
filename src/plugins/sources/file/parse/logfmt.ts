/**
 * logfmt (`level=info msg="request done" took=12ms`), as written by Go's logfmt and Heroku:
 * space-separated `key=value` pairs, values optionally double-quoted with backslash escapes, a
 * bare key meaning an empty value. Returns undefined for a line without a single `key=value`
 * pair, which the source then keeps as a plain message.
 */
export function parseLogfmt(line: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let pairs = 0;
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && line.charCodeAt(i) !== 61 /* = */ && !isSpace(line.charCodeAt(i))) i++;
    const key = line.slice(keyStart, i);
    if (i >= n || line.charCodeAt(i) !== 61) {
      if (key !== '') out[key] = '';
      continue;
    }
    i++; // '='
    let value: string;
    if (i < n && line.charCodeAt(i) === 34 /* " */) {
      const r = quoted(line, i + 1);
      if (r === undefined) return undefined;
      value = r.value;
      i = r.end;
    } else {
      const valueStart = i;
      while (i < n && !isSpace(line.charCodeAt(i))) i++;
      value = line.slice(valueStart, i);
    }
    if (key === '') return undefined;
    out[key] = value;
    pairs++;
  }
  return pairs > 0 ? out : undefined;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };

/** A quoted value starting after its opening quote; undefined when it is not closed. */
function quoted(line: string, start: number): { value: string; end: number } | undefined {
  let i = start;
  let value = '';
  let run = start;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === 34) return { value: value + line.slice(run, i), end: i + 1 };
    if (c === 92 /* \ */ && i + 1 < line.length) {
      const next = line[i + 1] as string;
      value += line.slice(run, i) + (ESCAPES[next] ?? `\\${next}`);
      i += 2;
      run = i;
      continue;
    }
    i++;
  }
  return undefined;
}
