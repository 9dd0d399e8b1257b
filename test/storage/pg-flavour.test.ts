/**
 * Flavour detection decides from facts it can read (pg_extension, pg_available_extensions, the
 * preload list or, when the role may not read it, the loader's settings in pg_settings) and
 * never by trying `CREATE EXTENSION`, which a server with TimescaleDB installed but not preloaded
 * answers with FATAL. When the facts do not settle it, it says so and takes plain PostgreSQL,
 * unless a flavour is configured.
 */
import t from 'tap';
import { decideFlavour, type ServerFacts } from '../../src/storage/postgres/flavour.js';
import { probeFlavour } from '../../src/storage/postgres/flavour.js';
import { withPostgres } from '../helpers/postgres.js';

const facts = (f: Partial<ServerFacts>): ServerFacts => ({
  installed: false,
  available: true,
  preloaded: null,
  loaderActive: null,
  migratedPlain: false,
  ...f,
});

t.test('installed but not preloaded, and a role that cannot read shared_preload_libraries: plain, and it says it cannot tell', async (t) => {
  const probe = decideFlavour(facts({ preloaded: null, loaderActive: false }));
  t.equal(probe.flavour, 'plain');
  t.equal(probe.certain, false);
  t.match(probe.reason, /cannot tell whether timescaledb is preloaded/);
  t.match(probe.warnings, [/grant pg_read_all_settings/]);
  t.equal(decideFlavour(facts({ preloaded: null, loaderActive: null })).flavour, 'plain', 'the probe failed too');
});

t.test('the guarded probe settles it when the preload list is unreadable', async (t) => {
  t.match(decideFlavour(facts({ preloaded: null, loaderActive: true })), { flavour: 'timescaledb', certain: true, reason: /loader is active/ });
});

t.test('facts that settle it', async (t) => {
  t.match(decideFlavour(facts({ installed: true })), { flavour: 'timescaledb', certain: true });
  t.match(decideFlavour(facts({ available: false })), { flavour: 'plain', certain: true });
  t.match(decideFlavour(facts({ preloaded: true })), { flavour: 'timescaledb', certain: true });
  t.match(decideFlavour(facts({ preloaded: false })), { flavour: 'plain', certain: true, warnings: [/not preloaded/] });
  t.match(decideFlavour(facts({ migratedPlain: true, preloaded: true })), { flavour: 'plain', certain: true });
});

t.test('a real server without TimescaleDB: plain, certain', async (t) => {
  const db = await withPostgres(t);
  const probe = await probeFlavour(db.pool);
  if (db.mode !== 'embedded') return t.comment(`flavour ${probe.flavour} on a ${db.mode} server`);
  t.match(probe, { flavour: 'plain', certain: true, reason: 'the timescaledb extension is not available' });
});
