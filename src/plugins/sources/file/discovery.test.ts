import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../../../testing/index.js';
import { watchRoots } from './discovery.js';
import { PathFilter } from './glob.js';

t.test('a file that appears while the watcher is being set up is found by a rescan once it is in place', async (t) => {
  const dir = tempDir(t);
  const filter = new PathFilter([path.join(dir, '*.log')], [], dir);
  let rescans = 0;
  const watcher = watchRoots(filter, { rescan: () => rescans++, changed: () => {}, error: () => {} });
  t.teardown(() => watcher.close());
  // Before chokidar has read the directory: its first read takes the file as already there.
  fs.writeFileSync(path.join(dir, 'app.log'), 'a line\n');
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  t.ok(rescans >= 1, `a rescan is asked for when the watch is in place (${rescans})`);
});
