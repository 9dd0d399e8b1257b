/**
 * The agent's soft open-files limit ends at the hard one: Node's start-up raises it, and where it
 * did not, `raiseNofileLimit` does with util-linux's `prlimit`; it never fails the start.
 */
import { execFileSync, spawn } from 'node:child_process';
import t from 'tap';
import pino from 'pino';
import { raiseNofileLimit, readNofile } from './nofile.js';

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function capture() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (l: string) => lines.push(l) }) };
}

t.test('a process with a low soft limit gets it raised to its hard limit by prlimit', { skip: !hasPrlimit || !readNofile() ? 'needs prlimit and /proc (Linux)' : false }, async (t) => {
  // `sleep` keeps the limits it was started with (Node would raise its own at start-up).
  const child = spawn('prlimit', ['--nofile=256:4096', '--', 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => child.kill());
  // prlimit execs sleep: the pid stays, its limits are the ones given.
  let before = readNofile(child.pid!);
  for (let i = 0; i < 100 && before?.soft !== 256; i++) {
    await new Promise((r) => setTimeout(r, 20));
    before = readNofile(child.pid!);
  }
  t.same(before, { soft: 256, hard: 4096 }, 'started low');
  const { lines, logger } = capture();
  const after = await raiseNofileLimit(logger, { pid: child.pid! });
  t.same(after, { soft: 4096, hard: 4096 }, 'raised to the hard limit');
  t.same(readNofile(child.pid!), { soft: 4096, hard: 4096 }, 'as the kernel reports it');
  t.match(lines.join(''), /raised the open files limit from 256 to 4096/);
});

t.test('without prlimit the start goes on, the limit stays, and a warning says how to raise it', { skip: !hasPrlimit || !readNofile() ? 'needs prlimit and /proc (Linux)' : false }, async (t) => {
  const child = spawn('prlimit', ['--nofile=256:4096', '--', 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => child.kill());
  for (let i = 0; i < 100 && readNofile(child.pid!)?.soft !== 256; i++) await new Promise((r) => setTimeout(r, 20));
  const { lines, logger } = capture();
  t.same(await raiseNofileLimit(logger, { pid: child.pid!, prlimit: '/nonexistent/prlimit' }), { soft: 256, hard: 4096 }, 'unchanged');
  t.match(lines.join(''), /could not raise the open files limit \(soft 256\) to its hard limit 4096.*LimitNOFILE/);
});

t.test("the agent's own process already runs at its hard limit, and says so", { skip: !readNofile() ? 'needs /proc (Linux)' : false }, async (t) => {
  const { lines, logger } = capture();
  const limits = await raiseNofileLimit(logger);
  t.equal(limits?.soft, limits?.hard);
  t.match(lines.join(''), /open files limit: \d+/);
});
