import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Bearer-token check. Both sides are hashed first so that `timingSafeEqual` compares equal
 * lengths and the time taken says nothing about the token, not even its length.
 */
export function bearerCheck(token: string | undefined): ((header: string | undefined) => boolean) | undefined {
  if (token === undefined) return undefined;
  const expected = digest(token);
  return (header) => {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    return m !== null && timingSafeEqual(digest(m[1] as string), expected);
  };
}
