import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../../testing/index.js';
import { DataDirLock } from './lock.js';
import { dataDirExposure } from './private-files.js';
import { QueueStore } from './store.js';

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

t.test('a data_dir the agent creates is 0700 and its queue files 0600, whatever the umask', async (t) => {
  const previous = process.umask(0o002); // a permissive umask, as some distributions set for users
  t.teardown(() => process.umask(previous));
  const dataDir = path.join(tempDir(t), 'nested', 'data');
  const lock = DataDirLock.acquire(dataDir);
  t.teardown(() => lock.release());
  const store = QueueStore.open(dataDir);
  t.teardown(() => store.close());
  store.sinkTable('s'); // a write, so that SQLite has its -wal and -shm files
  t.equal(modeOf(dataDir), 0o700, 'data_dir');
  t.equal(modeOf(path.dirname(dataDir)), 0o700, 'a parent the agent created too');
  const files = fs.readdirSync(dataDir).sort();
  t.match(files, ['agent.lock', 'agent.lock-journal', 'queue.db', 'queue.db-shm', 'queue.db-wal']);
  for (const f of files) t.equal(modeOf(path.join(dataDir, f)), 0o600, f);
});

t.test('an existing data_dir keeps its mode; one that others can read is warned about', async (t) => {
  const dataDir = tempDir(t);
  fs.chmodSync(dataDir, 0o755);
  const store = QueueStore.open(dataDir);
  store.close();
  t.equal(modeOf(dataDir), 0o755, 'not changed behind the operator');
  t.match(dataDirExposure(dataDir), /has mode 0755: other users can list it; `chmod o-rwx .*` makes it private/);
  fs.chmodSync(path.join(dataDir, 'queue.db'), 0o644); // as created by an older agent
  t.match(dataDirExposure(dataDir), /and its queue\.db \(mode 0644\) can be read by other users/);
  fs.chmodSync(dataDir, 0o711);
  t.match(dataDirExposure(dataDir), /queue\.db \(mode 0644\)/, 'search-only is enough to read a file whose name is known');
  fs.chmodSync(path.join(dataDir, 'queue.db'), 0o600);
  t.equal(dataDirExposure(dataDir), undefined, 'search-only with private files (what an embedded PostgreSQL needs)');
  fs.chmodSync(dataDir, 0o750);
  t.equal(dataDirExposure(dataDir), undefined, 'group access is deliberate (the systemd unit uses 0750)');
  t.equal(dataDirExposure(path.join(dataDir, 'missing')), undefined, 'a directory the agent will create');
});
