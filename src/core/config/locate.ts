/**
 * Maps key paths (`sinks.pg.batch.max_events`) to the line that defines them, so schema errors
 * can name a line like TOML syntax errors do. A light scan of table headers and `key =` lines;
 * keys inside inline tables resolve to the line of the inline table.
 */

const BARE = /^[A-Za-z0-9_-]+/;

function parseKey(text: string): { parts: string[]; rest: string } | undefined {
  const parts: string[] = [];
  let s = text.trimStart();
  for (;;) {
    let part: string | undefined;
    if (s.startsWith('"')) {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(s);
      if (!m) return undefined;
      part = JSON.parse(`"${m[1]}"`) as string;
      s = s.slice(m[0].length);
    } else if (s.startsWith("'")) {
      const end = s.indexOf("'", 1);
      if (end < 0) return undefined;
      part = s.slice(1, end);
      s = s.slice(end + 1);
    } else {
      const m = BARE.exec(s);
      if (!m) return undefined;
      part = m[0];
      s = s.slice(m[0].length);
    }
    parts.push(part);
    s = s.trimStart();
    if (s.startsWith('.')) {
      s = s.slice(1).trimStart();
      continue;
    }
    return { parts, rest: s };
  }
}

export class KeyLocator {
  private readonly lines = new Map<string, number>();

  constructor(text: string) {
    let table: string[] = [];
    let multiline: string | undefined;
    const arrayCounts = new Map<string, number>();
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (multiline) {
        if (line.includes(multiline)) multiline = undefined;
        return;
      }
      if (line === '' || line.startsWith('#')) return;
      if (line.startsWith('[[')) {
        const key = parseKey(line.slice(2));
        if (!key) return;
        const name = key.parts.join('.');
        const idx = arrayCounts.get(name) ?? 0;
        arrayCounts.set(name, idx + 1);
        table = [...key.parts, String(idx)];
        this.record(table, i + 1);
        return;
      }
      if (line.startsWith('[')) {
        const key = parseKey(line.slice(1));
        if (!key) return;
        table = key.parts;
        this.record(table, i + 1);
        return;
      }
      const key = parseKey(line);
      if (!key || !key.rest.startsWith('=')) return;
      this.record([...table, ...key.parts], i + 1);
      const value = key.rest.slice(1);
      for (const q of ['"""', "'''"]) {
        const first = value.indexOf(q);
        if (first >= 0 && value.indexOf(q, first + 3) < 0) multiline = q;
      }
    });
  }

  private record(parts: string[], line: number): void {
    const k = parts.join('\u0000');
    if (!this.lines.has(k)) this.lines.set(k, line);
  }

  /** The line of the longest recorded prefix of `path`. */
  lineOf(path: ReadonlyArray<string | number>): number | undefined {
    for (let n = path.length; n > 0; n--) {
      const line = this.lines.get(path.slice(0, n).map(String).join('\u0000'));
      if (line !== undefined) return line;
    }
    return undefined;
  }
}
