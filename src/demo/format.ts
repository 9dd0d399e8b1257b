/** Terminal formatting for the demo's report: aligned columns, times, numbers. */

/** Pads rows of cells into aligned columns (`r` right-aligns a column); the last cell of a row is never padded. */
export function columns(rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[] = [], gap = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        if (align[i] === 'r') return cell.padStart(width);
        return i === row.length - 1 ? cell : cell.padEnd(width);
      })
      .join(gap)
      .trimEnd(),
  );
}

/** `12:04:31.207` (UTC) from microseconds since the epoch. */
export function clock(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().slice(11, 23);
}

/** `12:04` (UTC) from milliseconds since the epoch. */
export function minute(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** A rollup value as PostgreSQL and ClickHouse both print it: short, no float noise. */
export function value(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
