import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { withPostgres } from '../testing/index.js';
import { migratePostgres } from '../storage/postgres/migrate.js';
import { schemasCommand } from './schemas.js';

/** Runs the command in-process and returns its exit code and what it printed. */
async function run(args: string[]) {
  const out: string[] = [];
  const log = console.log;
  const err = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    return { code: await schemasCommand.run(args), out: out.join('\n') };
  } finally {
    console.log = log;
    console.error = err;
  }
}

t.test('schemas register, list, show, diff and check against a real registry', async (t) => {
  const db = await withPostgres(t);
  await migratePostgres(db.pool, { flavour: 'plain' });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tc-schemas-'));
  const v1 = path.join(dir, 'checkout.completed.json');
  const v2 = path.join(dir, 'v2.json');
  const broken = path.join(dir, 'broken.json');
  await writeFile(v1, JSON.stringify({ type: 'object', required: ['amount'], properties: { amount: { type: 'number' } }, 'x-thermocline': { table: 'events_checkout' } }));
  await writeFile(v2, JSON.stringify({ type: 'object', properties: { amount: { type: 'string' }, coupon: { type: 'string' } } }));
  await writeFile(broken, JSON.stringify({ type: 'object', properties: { a: { type: 'nope' } } }));
  const pg = ['--pg', db.url];

  t.match(await run(['check', v1]), { code: 0, out: /checkout.completed: valid JSON Schema 2020-12, table events_checkout \(postgres\)/ });
  t.match(await run(['check', broken]), { code: 1, out: /TC_SCHEMA_INVALID[\s\S]*\/properties\/a\/type/ });
  t.match(await run(['register', v1, ...pg]), { code: 0, out: 'checkout.completed 1.0: registered' });
  t.match(await run(['register', v1, ...pg]), { code: 0, out: 'checkout.completed 1.0: unchanged' });
  t.match(await run(['diff', 'checkout.completed', v2, ...pg]), { code: 1, out: /\+ field "coupon" was added\n! field "amount" became|! field "amount"/ });
  t.match(await run(['check', v2, '--type', 'checkout.completed', ...pg]), { code: 1, out: /not compatible with 1.0/ });
  t.match(await run(['register', v2, '--type', 'checkout.completed', ...pg]), { code: 1, out: /TC_SCHEMA_INCOMPATIBLE[\s\S]*field "amount" changed type from number to string/ });
  t.match(await run(['register', v2, '--type', 'checkout.completed', '--force', ...pg]), { code: 0, out: /checkout.completed 2.0: registered \(forced/ });
  t.match(await run(['list', ...pg]), { code: 0, out: /checkout.completed\s+1.0[\s\S]*checkout.completed\s+2.0/ });
  t.match(await run(['show', 'checkout.completed', '--version', '1.0', ...pg]), { code: 0, out: /"table": "events_checkout"/ });
  t.match(await run(['show', 'nope', ...pg]), { code: 1, out: /TC_SCHEMA_NOT_FOUND/ });
  t.match(await run(['list']), { code: 78, out: /--pg URL or -c FILE/ });
});
