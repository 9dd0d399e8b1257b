import t from 'tap';
import toml from 'toml';
import type { TelemetryEvent } from '../../../index.js';
import { compileMatcher } from './matcher.js';
import { matcherSchema } from './matcher-schema.js';
import { business, histogram, log, metric, mixedBatch, span } from './testdata/events.js';

/** Parse a matcher written as TOML (as users write it), compile it, and return the indexes of `events` it selects. */
function select(matcherToml: string, events: TelemetryEvent[] = mixedBatch()): number[] {
  const raw = (toml.parse(`m = ${matcherToml}`) as { m: unknown }).m;
  const { predicate, issues } = compileMatcher(matcherSchema.parse(raw), ['m']);
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  return events.flatMap((e, i) => (predicate(e) ? [i] : []));
}

function issuesOf(matcherToml: string) {
  const raw = (toml.parse(`m = ${matcherToml}`) as { m: unknown }).m;
  return compileMatcher(matcherSchema.parse(raw), ['m']).issues;
}

// mixedBatch(): 0 metric, 1 log error (labels env, code 502), 2 span OK, 3 log info, 4 histogram,
// 5 business event, 6 span ERROR (payments), 7 log fatal (payments, no labels)

t.test('a value means equals, a list means one of, keys are AND-ed', async (t) => {
  t.same(select('{ kind = "metric" }'), [0, 4]);
  t.same(select('{ kind = "log", level = ["error", "fatal"] }'), [1, 7], 'the errors route example');
  t.same(select('{ service = "payments" }'), [6, 7], 'a field shared by several kinds applies to each');
  t.same(select('{ kind = ["span", "event"], service = "checkout" }'), [2, 5]);
  t.same(select('{}'), [0, 1, 2, 3, 4, 5, 6, 7], 'an empty matcher matches everything');
});

t.test('fields an event kind does not carry are absent', async (t) => {
  t.same(select('{ level = "info" }'), [3], 'metrics and spans have no level');
  t.same(select('{ level = { exists = false } }'), [0, 2, 4, 5, 6]);
  t.same(select('{ name = "GET /api/cart" }'), [2], 'name is the span name on spans');
  t.same(select('{ type = "histogram" }'), [4]);
  t.same(select('{ type = "deploy" }'), [5], 'type is the business event type on events');
  t.same(select('{ status_code = "ERROR" }'), [6]);
});

t.test('exists means present and non-empty', async (t) => {
  const events = [log({ trace_id: '' }), log({ trace_id: '0af7651916cd43dd8448eb211c80319c' }), metric()];
  t.same(select('{ trace_id = { exists = true } }', events), [1], 'an empty trace_id (no trace context) does not exist');
  t.same(select('{ trace_id = { exists = false } }', events), [0, 2]);
  t.same(select('{ labels.env = { exists = true } }', [log({ labels: { env: '' } }), log()]), [1]);
});

t.test('values are compared as text, numbers included', async (t) => {
  t.same(select('{ labels.code = 502 }'), [1], 'a number matches the label "502"');
  t.same(select('{ duration_ns = 1500000 }'), [2]);
  t.same(select('{ value = 1 }'), [0]);
  t.same(select('{ time_us = { regex = "^17" } }'), [0, 1, 3, 4, 5, 7], 'numbers can be matched by regex');
  t.same(select('{ payload.canary = true, payload.replicas = 3 }'), [5], 'booleans and numbers in a payload');
});

t.test('regex finds a match anywhere unless anchored', async (t) => {
  t.same(select('{ message = { regex = "declined" } }'), [1]);
  t.same(select('{ message = { regex = "^GET" } }'), [3]);
  t.same(select('{ message = { regex = "^declined" } }'), []);
  t.same(select('{ labels."http.route" = { regex = "^/api/(cart|pay)$" } }'), [2, 6], 'quoted label names with dots');
});

t.test('labels.<name> reads log and metric labels and span attributes', async (t) => {
  t.same(select('{ labels.env = "prod" }'), [1, 3]);
  t.same(select('{ labels."http.route" = "/api/cart" }'), [2], 'span attr, as labels');
  t.same(select('{ labels.route = "/api/cart" }'), [4], 'histogram labels');
  t.same(select('{ labels.code = { exists = true } }'), [0, 1]);
  t.same(select('{ labels = { env = "prod", code = "502" } }'), [1], 'a labels table is the same as dotted keys');
});

t.test('label and payload names that exist on Object.prototype are not found on events', async (t) => {
  t.same(select('{ labels.constructor = { exists = true } }'), []);
  t.same(select('{ labels.toString = { exists = false } }', [log()]), [0]);
  t.same(select('{ payload.hasOwnProperty = { exists = true } }'), []);
});

t.test('payload objects exist but equal nothing', async (t) => {
  t.same(select('{ payload.meta = { exists = true } }'), [5]);
  t.same(select('{ payload.meta = "[object Object]" }'), []);
  t.same(select('{ payload.missing = { exists = false }, kind = "event" }'), [5]);
});

t.test('not negates a value, a list or a regex; absent values are "not equal"', async (t) => {
  t.same(select('{ kind = "log", level = { not = "info" } }'), [1, 7]);
  t.same(select('{ kind = "log", level = { not = ["info", "error"] } }'), [7]);
  t.same(select('{ kind = "log", message = { not = { regex = "GET" } } }'), [1, 7]);
  t.same(select('{ level = { not = "info" } }'), [0, 1, 2, 4, 5, 6, 7], 'kinds without a level are "not info"');
  t.same(select('{ labels.env = { exists = true, not = "staging" } }'), [1, 3], 'condition keys are AND-ed');
});

t.test('any, all and not combine matchers', async (t) => {
  t.same(select('{ any = [ { kind = "metric" }, { status_code = "ERROR" } ] }'), [0, 4, 6]);
  t.same(select('{ all = [ { kind = "log" }, { service = "payments" } ] }'), [7]);
  t.same(select('{ not = { kind = "log" } }'), [0, 2, 4, 5, 6]);
  t.same(select('{ kind = "log", not = { any = [ { level = "info" }, { labels.code = { exists = true } } ] } }'), [7], 'nested');
});

t.test('span events and histograms are not searched: matchers see the event itself', async (t) => {
  t.same(select('{ name = "cache.miss" }', [span()]), []);
  t.same(select('{ value = 3 }', [histogram()]), [], 'a histogram has no value');
});

t.test('compile problems are reported with their key path', async (t) => {
  t.same(issuesOf('{ message = { regex = "(unclosed" } }'), [
    { path: ['m', 'message', 'regex'], message: 'invalid regular expression "(unclosed": missing closing ): `(unclosed`' },
  ]);
  t.same(issuesOf('{ kind = "metrics" }'), [
    { path: ['m', 'kind'], message: '"metrics" can never match; the possible values are "log", "metric", "span", "event"' },
  ]);
  t.same(issuesOf('{ status_code = ["ERROR", "error"] }')[0]?.path, ['m', 'status_code'], 'status codes are upper-case');
  t.same(issuesOf('{ kind = { not = "trace" } }')[0]?.path, ['m', 'kind', 'not']);
  t.same(issuesOf('{ level = {} }'), [
    { path: ['m', 'level'], message: 'an empty condition table matches nothing; give `regex`, `exists` or `not`, or write the value itself' },
  ]);
  t.same(issuesOf('{ any = [ { kind = "log" }, { labels.x = { regex = "[" } } ] }')[0]?.path, ['m', 'any', 1, 'labels', 'x', 'regex']);
  t.equal(issuesOf('{ any = [ { message = { regex = "(" } } ], not = { level = { regex = "[" } } }').length, 2, 'every problem at once');
});

t.test('patterns run in linear time: a catastrophic-backtracking pattern on a hostile message completes and matches correctly', async (t) => {
  // On a backtracking engine this pattern needs about 2^32 steps for the 33-byte message below
  // (the trailing '!' defeats every split of the word run); on RE2 it is one pass.
  const hostile = `${'a'.repeat(32)}!`;
  const matcher = "{ message = { regex = '^(\\w+\\s?)*$' } }";
  t.same(select(matcher, [log({ message: hostile }), log({ message: 'hello big world' })]), [1]);
});

t.test('a pattern that needs backtracking is a compile problem that says why', async (t) => {
  const backref = issuesOf("{ message = { regex = '(a)\\1' } }");
  t.same(
    backref.map((i) => i.path),
    [['m', 'message', 'regex']],
  );
  t.match(backref[0]?.message, /^regular expression "\(a\)\\\\1" cannot run in linear time: backreferences are not supported/);
  t.match(issuesOf("{ message = { regex = 'foo(?=bar)' } }")[0]?.message, /cannot run in linear time: lookahead and lookbehind are not supported/);
  t.match(issuesOf("{ labels.x = { regex = '(?<!x)y' } }")[0], { path: ['m', 'labels', 'x', 'regex'], message: /lookahead and lookbehind are not supported/ });
  t.same(issuesOf("{ message = { regex = '(?<name>a)\\d+' } }"), [], 'named groups and classes are fine');
});

t.test('the schema rejects unknown fields and condition keys, nested ones with their path', async (t) => {
  const problems = (raw: unknown) => {
    const r = matcherSchema.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => ({ path: i.path, code: i.code }));
  };
  t.same(problems({ lvl: 'error' }), [{ path: [], code: 'unrecognized_keys' }]);
  t.same(problems({ level: { regexp: 'x' } }), [{ path: ['level'], code: 'unrecognized_keys' }]);
  t.same(problems({ any: [{ kind: 'log' }, { attr: { x: '1' } }] }), [{ path: ['any', 1], code: 'unrecognized_keys' }]);
  t.same(problems({ not: { not: { levle: 'x' } } }), [{ path: ['not', 'not'], code: 'unrecognized_keys' }]);
  t.same(problems({ level: [] })[0]?.path, ['level'], 'an empty list');
  t.same(problems({ any: [] })[0]?.path, ['any']);
  t.same(problems({ level: { not: { not: 'x' } } })[0]?.path, ['level', 'not'], 'not does not nest inside a condition');
});

t.test('a business event matches on its own fields', async (t) => {
  t.same(
    select('{ kind = "event", severity = "info", payload.version = { regex = "^1\\\\." } }', [business(), business({ payload: { version: '2.0' } })]),
    [0],
  );
});
