/**
 * Values substituted into migration templates. A template placeholder only accepts a `SqlFragment`,
 * and fragments are only made here, from validated integers and identifiers: untrusted text can
 * never reach the SQL.
 */
declare const sqlFragmentBrand: unique symbol;
export type SqlFragment = string & { readonly [sqlFragmentBrand]: true };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fragment(text: string): SqlFragment {
  return text as SqlFragment;
}

function wholeNumber(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

export type IntervalUnit = 'minute' | 'hour' | 'day';

/** PostgreSQL interval literal, e.g. `INTERVAL '30 days'`. */
export function pgInterval(amount: number, unit: IntervalUnit): SqlFragment {
  const n = wholeNumber(amount, 'interval');
  return fragment(`INTERVAL '${n} ${unit}${n === 1 ? '' : 's'}'`);
}

/** ClickHouse interval, e.g. `INTERVAL 7 DAY`. */
export function chInterval(amount: number, unit: IntervalUnit): SqlFragment {
  return fragment(`INTERVAL ${wholeNumber(amount, 'interval')} ${unit.toUpperCase()}`);
}

export function isPlainIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/**
 * An identifier that needs no quoting on either engine. Rejecting anything else (rather than
 * quoting) keeps names predictable in both dialects.
 */
export function plainIdentifier(name: string): SqlFragment {
  if (!isPlainIdentifier(name)) throw new RangeError(`not a plain identifier: ${JSON.stringify(name)}`);
  return fragment(name);
}

/** A single-quoted literal of a plain identifier, e.g. `'hot_warm_cold'`. */
export function identifierLiteral(name: string): SqlFragment {
  return fragment(`'${plainIdentifier(name)}'`);
}

/** Fixed SQL written in this code base (never user input), e.g. an optional REFERENCES clause. */
export function trustedSql(text: string): SqlFragment {
  return fragment(text);
}
