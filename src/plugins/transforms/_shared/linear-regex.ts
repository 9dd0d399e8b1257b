import { RE2JS } from 're2js';

/**
 * Operator-written patterns (route and filter matchers, canonicalize_labels selectors) run on
 * every event, and attackers write the text they run on. A backtracking engine (JavaScript's
 * RegExp) can take exponential time on patterns such as `^(\w+\s?)*$`, and it blocks the one
 * event loop: every source, sink and /health with it. RE2's automaton runs in time linear in the
 * input whatever the pattern, at the price of the features that need backtracking
 * (backreferences, lookahead, lookbehind). See docs/operations.md#security-defaults.
 *
 * re2js is RE2's pure-JavaScript port: the native `re2` binding needs a compiler at install time
 * and newer Node.js than we support.
 */

export type LinearRegex = (value: string) => boolean;

export type CompiledRegex = { ok: true; test: LinearRegex } | { ok: false; message: string };

/** Why a syntax RE2 rejects is not a typo but a feature it leaves out on purpose. */
const UNSUPPORTED: Array<[RegExp, string]> = [
  [/\\[1-9]|\\k</, 'backreferences are not supported'],
  [/\(\?<?[=!]/, 'lookahead and lookbehind are not supported'],
];

/**
 * Compile `source` (unanchored: it matches when any part of the value matches) for a linear-time
 * engine. A pattern the engine cannot run is an error message that says why, for the caller to
 * report with its key path.
 */
export function compileLinearRegex(source: string): CompiledRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    const reason = UNSUPPORTED.find(([probe]) => probe.test(source))?.[1];
    const detail = (err as Error).message.replace(/^error parsing regexp: /, '');
    return {
      ok: false,
      message: reason
        ? `regular expression ${JSON.stringify(source)} cannot run in linear time: ${reason} (patterns use RE2 syntax; ${detail})`
        : `invalid regular expression ${JSON.stringify(source)}: ${detail}`,
    };
  }
  return { ok: true, test: (value) => re.test(value) };
}
