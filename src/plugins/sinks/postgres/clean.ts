/**
 * What PostgreSQL cannot store: NUL in `text` and `jsonb` (text values end at NUL, and
 * jsonb rejects `\u0000` with SQLSTATE 22P05), and unpaired UTF-16 surrogates, which are not
 * Unicode scalar values (jsonb rejects an escaped one with 22P02; in text columns Node's UTF-8
 * encoder would turn them into U+FFFD silently). Both become U+FFFD, and each replacement is
 * counted, so that a row is never lost for one character and the change is visible.
 *
 * Invalid UTF-8 cannot reach a sink: events are JavaScript strings, decoded by the sources.
 */

const REPLACEMENT = '\uFFFD';
/** In a `u` regex a surrogate pair is one code point, so this matches only NUL and unpaired halves. */
const UNSTORABLE = /[\0\uD800-\uDFFF]/u;

/**
 * In JSON text from `JSON.stringify`, NUL is always written `\u0000` and an unpaired surrogate
 * `\udXXX` (well-formed JSON.stringify, ES2019); paired surrogates are written raw. An escape is
 * real only after an even number of backslashes (`\\u0000` is a backslash and the text "u0000").
 */
const BAD_JSON_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})/gi;

export class TextCleaner {
  /** Characters replaced since the last `take()`. */
  private replaced = 0;

  /** `s` with NUL and unpaired surrogates replaced by U+FFFD. */
  text(s: string): string {
    if (!UNSTORABLE.test(s)) return s;
    let n = 0;
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0) {
        out += REPLACEMENT;
        n++;
      } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        out += s[i] as string;
        out += s[++i] as string;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        out += REPLACEMENT;
        n++;
      } else {
        out += s[i] as string;
      }
    }
    this.replaced += n;
    return out;
  }

  /** JSON text from `JSON.stringify` with escaped NUL and unpaired surrogates replaced by `\ufffd`. */
  json(text: string): string {
    if (!text.includes('\\u')) return text;
    return text.replace(BAD_JSON_ESCAPE, (_m, slashes: string) => {
      this.replaced++;
      return `${slashes}\\ufffd`;
    });
  }

  /** The count since the previous call, for the plugin's counter. */
  take(): number {
    const n = this.replaced;
    this.replaced = 0;
    return n;
  }
}
