/**
 * Splits a SQL file into statements. ClickHouse's HTTP interface runs one statement per request
 * (chdb would accept several, a server does not), and a failure is reported with the line of the
 * statement. Understands '…' "…" `…` quoting with backslash and doubled-quote escapes, -- and #
 * line comments and /* *\/ block comments; that is all ClickHouse DDL needs.
 */
export interface SqlStatement {
  readonly sql: string;
  /** 1-based line of the statement's first non-blank character in the file. */
  readonly line: number;
}

export function splitStatements(text: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const raw = text.slice(start, end);
    const code = firstCodeOffset(raw);
    if (code < raw.length) statements.push({ sql: raw.slice(code).trim(), line: lineAt(text, start + code) });
    start = end + 1;
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(text, i, c);
    } else if ((c === '-' && next === '-') || c === '#') {
      i = skipLine(text, i);
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (c === ';') {
      push(i);
      i += 1;
    } else {
      i += 1;
    }
  }
  push(text.length);
  return statements;
}

function skipQuoted(text: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
    } else if (c === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return text.length;
}

function skipLine(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end === -1 ? text.length : end + 1;
}

/** Offset of the first character that is neither blank nor comment (chunk length if none). */
function firstCodeOffset(chunk: string): number {
  let i = 0;
  while (i < chunk.length) {
    const c = chunk[i] ?? '';
    if (/\s/.test(c)) {
      i += 1;
    } else if ((c === '-' && chunk[i + 1] === '-') || c === '#') {
      i = skipLine(chunk, i);
    } else if (c === '/' && chunk[i + 1] === '*') {
      const end = chunk.indexOf('*/', i + 2);
      i = end === -1 ? chunk.length : end + 2;
    } else {
      return i;
    }
  }
  return chunk.length;
}

export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i += 1) if (text[i] === '\n') line += 1;
  return line;
}
