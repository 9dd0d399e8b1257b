import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { codesInSource, errorCatalogue, uncataloguedCodes } from '../scripts/error-catalogue.js';
import { CORE_ERRORS, defineErrorCodes, errorEntries, isErrorCode, PermanentError, RetryableError, ThermoclineError, type ErrorCodes } from '../src/core/errors.js';
import { builtinPlugins } from '../src/plugins/builtin.js';
import { repoRoot } from './helpers/agent-process.js';

/** Error codes are typed, defined beside the code that throws them, and all in docs/errors.md. */

const folders = builtinPlugins.map((plugin) => ({ dir: `src/plugins/${plugin.kind}s/${plugin.type}`, plugin }));

t.test('every TC_ code written in src/ is in the catalogue', async (t) => {
  const catalogue = await errorCatalogue(repoRoot, folders);
  t.same(uncataloguedCodes(repoRoot, catalogue), [], 'no code outside the catalogue');
  t.ok(codesInSource(repoRoot).has('TC_PG_SINK_ROW_REJECTED'), 'the scan sees codes written in reasons and messages');
  const doc = fs.readFileSync(path.join(repoRoot, 'docs/errors.md'), 'utf8');
  for (const entry of catalogue) t.ok(doc.includes(`## ${entry.code}\n`), `${entry.code} is in docs/errors.md`);
});

t.test('only a defined code type-checks', async (t) => {
  // Each line below must fail to compile (`npm run typecheck` checks tests): a code is made by defineErrorCodes, never typed by hand.
  // @ts-expect-error a mistyped code
  const typo = new PermanentError('x', { code: 'TC_TYPO' });
  // @ts-expect-error even a real code as a plain string
  const plain = new RetryableError('x', { code: 'TC_SINK_RETRYABLE' });
  // @ts-expect-error a property that the set does not have
  const missing = CORE_ERRORS.TC_TYPO;
  t.ok(typo && plain && missing === undefined);
  const err = new ThermoclineError(CORE_ERRORS.TC_QUEUE_FULL, 'full');
  t.equal(err.code, 'TC_QUEUE_FULL', 'a code is its name at run time');
  t.match(err.hint, /buffer\.max_bytes/, 'and carries its hint');
});

t.test('defineErrorCodes: format, entries and lookups', async (t) => {
  const MINE = defineErrorCodes({ TC_TEST_CUSTOM_THING: { title: 'A custom plugin failed.', hint: 'Fix it.' } });
  t.equal(MINE.TC_TEST_CUSTOM_THING, 'TC_TEST_CUSTOM_THING');
  t.same(errorEntries(MINE), [['TC_TEST_CUSTOM_THING', { title: 'A custom plugin failed.', hint: 'Fix it.' }]]);
  t.same(Object.keys(MINE), ['TC_TEST_CUSTOM_THING'], 'a set enumerates only its codes');
  t.ok(isErrorCode('TC_TEST_CUSTOM_THING'));
  t.notOk(isErrorCode('TC_NEVER_DEFINED'));
  t.equal(new PermanentError('x', { code: MINE.TC_TEST_CUSTOM_THING }).hint, 'Fix it.');
  t.throws(() => defineErrorCodes({ tc_lower: { title: 't', hint: 'h' } }), /must match/);
  t.throws(() => defineErrorCodes({ TC_NO_HINT: { title: 't', hint: '' } }), /title and a hint/);
  t.throws(() => errorEntries({ TC_FAKE: 'TC_FAKE' } as unknown as ErrorCodes), /defineErrorCodes/, 'a hand-made set is refused');
});

t.test('the catalogue fails loudly', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-catalogue-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  await t.rejects(errorCatalogue(root, []), /Cannot find module|ERR_MODULE_NOT_FOUND/, 'a module that cannot be imported');

  const undeclared = { dir: 'src/plugins/sinks/fake', plugin: { ...folders[0]!.plugin, type: 'fake', errors: undefined } };
  fs.mkdirSync(path.join(root, undeclared.dir), { recursive: true });
  fs.writeFileSync(path.join(root, undeclared.dir, 'errors.ts'), '');
  fs.writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n');
  for (const rel of ['src/core/errors.ts', 'src/storage/errors.ts', 'src/registry/errors.ts']) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), `export * from ${JSON.stringify(path.join(repoRoot, rel))};\n`);
  }
  await t.rejects(errorCatalogue(root, [undeclared]), /does not declare `errors`/, 'an errors.ts its plugin does not declare');

  const twice = folders.find((f) => f.plugin.errors)!;
  await t.rejects(errorCatalogue(root, [twice, { ...twice, dir: 'src/plugins/sinks/copy' }]), /defined twice/, 'a code defined twice');

  fs.writeFileSync(path.join(root, 'src/plugins/sinks/fake/sink.ts'), "throw new ThermoclineError('TC_NOT_DEFINED_ANYWHERE', 'x');\n");
  const catalogue = await errorCatalogue(root, []);
  t.match(uncataloguedCodes(root, catalogue), [/^TC_NOT_DEFINED_ANYWHERE \(src\/plugins\/sinks\/fake\/sink\.ts:1\)$/], 'a code used but not catalogued');
});

t.test('a custom plugin defines and declares its codes with the public API alone', async (t) => {
  const api = await import('../src/index.js');
  const { pluginProblem } = await import('../src/core/plugin/registry.js');
  const MY_ERRORS = api.defineErrorCodes({ TC_TEST_MY_SINK_REJECTED: { title: 'Rejected.', hint: 'Fix the producer.' } });
  const plugin = api.defineSink({
    type: 'my_test_sink',
    summary: 'A test sink.',
    config: api.z.strictObject({}),
    errors: MY_ERRORS,
    create: () => ({
      write: async () => {
        throw new api.PermanentError('rejected', { code: MY_ERRORS.TC_TEST_MY_SINK_REJECTED });
      },
    }),
  });
  t.equal(pluginProblem(plugin), undefined, 'accepted by the registry');
  t.same(api.errorEntries(plugin.errors!).map(([code]) => code), ['TC_TEST_MY_SINK_REJECTED']);
  t.equal(api.errorHint(MY_ERRORS.TC_TEST_MY_SINK_REJECTED), 'Fix the producer.');
  const forged = { ...plugin, errors: { TC_FORGED: 'TC_FORGED' } as unknown as ErrorCodes };
  t.match(pluginProblem(forged), /defineErrorCodes did not make/, 'hand-made errors are refused at load');
});
