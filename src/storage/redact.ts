/**
 * Connection strings carry passwords; logs and errors must not (docs/operations.md#security-defaults).
 * Every URL the storage layer prints goes through `redactUrl`.
 */

/** Query parameters that hold secrets in libpq / ClickHouse URLs. */
const SECRET_PARAMS = new Set(['password', 'sslpassword', 'passfile', 'secret', 'access_key', 'secret_access_key']);
const MASK = '***';

/**
 * Replaces the password of a URL (and secret query parameters) with `***`. Strings that do not
 * parse as URLs are masked by pattern, so a malformed URL in an error message stays safe.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/(\/\/[^:/?#@]*:)[^@/?#]*@/, `$1${MASK}@`).replace(/((?:^|[?&])(?:password|sslpassword)=)[^&]*/gi, `$1${MASK}`);
  }
  if (parsed.password !== '') parsed.password = MASK;
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMS.has(key.toLowerCase())) parsed.searchParams.set(key, MASK);
  }
  // URL re-encodes the mask; keep it readable.
  return parsed.toString().replaceAll(encodeURIComponent(MASK), MASK);
}
