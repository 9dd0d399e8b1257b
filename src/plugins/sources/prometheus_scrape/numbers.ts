/**
 * Number tokens of the exposition formats, read straight from the body without allocating in the
 * common cases. Values follow Go's `strconv.ParseFloat`, which Prometheus uses: decimal and
 * exponent notation, and `NaN`, `Inf`, `+Inf`, `-Inf` (also `Infinity`) in any case.
 *
 * Decimals with at most 15 significant digits and a decimal exponent within ±22 are computed as
 * `digits × 10^e` or `digits / 10^-e`: both operands are exact doubles, so the one rounding of
 * that operation gives the correctly rounded result (Clinger's fast path, as in Go and V8).
 * Anything else goes through `Number()`. `Number()` on every value measured as slow as parsing
 * the rest of the line.
 */

const MAX_EXACT_DIGITS = 15; // 10^15 < 2^53: the digits are an exact integer
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // 10^0 .. 10^22 are exact doubles

/** Where the last `scanValue` stopped: the first blank after the token, or `end`. */
export let scanEnd = 0;

/**
 * The number token starting at `start` (ending at a blank or `end`; see `scanEnd`), or undefined
 * when it is not a number.
 */
export function scanValue(t: string, start: number, end: number): number | undefined {
  let i = start;
  let c = t.charCodeAt(i);
  const negative = c === 45; // -
  if (negative || c === 43 /* + */) i++;
  let m = 0; // the significant digits, as an integer
  let significant = 0;
  let scale = 0; // the value is m × 10^scale
  let any = false;
  let truncated = false; // more than 15 significant digits: leave it to Number()
  while (i < end && (c = t.charCodeAt(i)) >= 48 && c <= 57) {
    any = true;
    if (significant < MAX_EXACT_DIGITS) {
      if (m !== 0 || c !== 48) significant++;
      m = m * 10 + (c - 48);
    } else truncated = true;
    i++;
  }
  if (i < end && c === 46 /* . */) {
    i++;
    while (i < end && (c = t.charCodeAt(i)) >= 48 && c <= 57) {
      any = true;
      if (significant < MAX_EXACT_DIGITS) {
        if (m !== 0 || c !== 48) significant++;
        m = m * 10 + (c - 48);
        scale--;
      } else truncated = true;
      i++;
    }
  }
  if (any && i < end && (c === 101 || c === 69) /* e E */) {
    let j = i + 1;
    let ec = t.charCodeAt(j);
    const eNegative = ec === 45;
    if (eNegative || ec === 43) j++;
    const digitsAt = j;
    let e = 0;
    while (j < end && (ec = t.charCodeAt(j)) >= 48 && ec <= 57) {
      if (e < 10_000) e = e * 10 + (ec - 48);
      j++;
    }
    if (j === digitsAt) truncated = true; // "1e" is no number: Number() will say so
    scale += eNegative ? -e : e;
    i = j;
    c = i < end ? t.charCodeAt(i) : 32;
  }
  if (any && !truncated && (i === end || c === 32 || c === 9) && scale >= -22 && scale <= 22) {
    scanEnd = i;
    const v = scale >= 0 ? m * (POW10[scale] as number) : m / (POW10[-scale] as number);
    return negative ? -v : v;
  }
  while (i < end && (c = t.charCodeAt(i)) !== 32 && c !== 9) i++;
  scanEnd = i;
  return parseSlow(t, start, i);
}

/** The value of `t[start, end)`, or undefined when it is not a number. */
export function parseValue(t: string, start: number, end: number): number | undefined {
  const v = scanValue(t, start, end);
  return scanEnd === end ? v : undefined;
}

function parseSlow(t: string, start: number, end: number): number | undefined {
  // Only what Go's ParseFloat accepts for decimal input: digits, one dot, an exponent. Number()
  // alone would also take "0x1f", "0b1" and surrounding whitespace.
  let plain = end > start;
  for (let i = start; i < end; i++) {
    const c = t.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45)) {
      plain = false;
      break;
    }
  }
  const s = t.slice(start, end);
  if (plain) {
    const n = Number(s);
    return Number.isNaN(n) ? undefined : n;
  }
  switch (s.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}

/**
 * A sample timestamp in microseconds: an integer of milliseconds in the text format 0.0.4, a
 * (possibly fractional) number of seconds in OpenMetrics. Undefined when invalid.
 */
export function parseTimestampUs(t: string, start: number, end: number, openMetrics: boolean): number | undefined {
  const v = parseValue(t, start, end);
  if (v === undefined || !Number.isFinite(v)) return undefined;
  if (openMetrics) return Math.round(v * 1e6);
  return Number.isInteger(v) ? v * 1000 : undefined;
}
