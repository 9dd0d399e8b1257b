import t from 'tap';
import { compileGlob, globMatches, globMayContain, globProblem, PathFilter } from './glob.js';

t.test('single-segment wildcards, classes and alternatives', async (t) => {
  const g = compileGlob('/var/log/app-?.{log,txt}', '/');
  t.equal(g.base, '/var/log');
  t.ok(globMatches(g, '/var/log/app-1.log'));
  t.ok(globMatches(g, '/var/log/app-b.txt'));
  t.notOk(globMatches(g, '/var/log/app-12.log'), '? is one character');
  t.notOk(globMatches(g, '/var/log/app-1.json'));
  t.notOk(globMatches(g, '/var/log/sub/app-1.log'), 'no directory crossing');
  const c = compileGlob('/l/[a-c]x[!0-9].log', '/');
  t.ok(globMatches(c, '/l/bxz.log'));
  t.notOk(globMatches(c, '/l/dxz.log'));
  t.notOk(globMatches(c, '/l/ax1.log'), 'negated class');
  const s = compileGlob('/l/*.log', '/');
  t.ok(globMatches(s, '/l/a.b.log'));
  t.notOk(globMatches(s, '/l/a.log.1'));
  t.notOk(globMatches(s, '/l/x/a.log'));
});

t.test('** spans any number of directories, including none', async (t) => {
  const g = compileGlob('/var/log/pods/**/*.log', '/');
  t.equal(g.base, '/var/log/pods');
  t.ok(globMatches(g, '/var/log/pods/a.log'));
  t.ok(globMatches(g, '/var/log/pods/ns_pod/container/0.log'));
  t.notOk(globMatches(g, '/var/log/other/a.log'));
  t.ok(globMayContain(g, '/var/log/pods/ns_pod'));
  t.ok(globMayContain(g, '/var/log'), 'a parent of the base is walked through');
  t.notOk(globMayContain(g, '/srv'));
});

t.test('directory pruning follows the pattern depth', async (t) => {
  const g = compileGlob('/var/log/*/current/*.log', '/');
  t.equal(g.base, '/var/log');
  t.ok(globMayContain(g, '/var/log/nginx'));
  t.ok(globMayContain(g, '/var/log/nginx/current'));
  t.notOk(globMayContain(g, '/var/log/nginx/old'));
  t.notOk(globMayContain(g, '/var/log/nginx/current/deeper'), 'deeper than the pattern reaches');
});

t.test('plain paths and relative patterns', async (t) => {
  const g = compileGlob('/var/log/syslog', '/');
  t.equal(g.base, '/var/log');
  t.ok(globMatches(g, '/var/log/syslog'));
  t.notOk(globMatches(g, '/var/log/syslog.1'));
  const r = compileGlob('logs/*.log', '/srv/app');
  t.equal(r.pattern, '/srv/app/logs/*.log');
  t.ok(globMatches(r, '/srv/app/logs/x.log'));
  const dots = compileGlob('/l/a+b(1).log', '/');
  t.ok(globMatches(dots, '/l/a+b(1).log'), 'regex characters are literal');
  t.notOk(globMatches(dots, '/l/aab(1)xlog'));
});

t.test('bad patterns are explained', async (t) => {
  t.match(globProblem('/var/log/**'), /must end in a file name pattern/);
  t.match(globProblem('/var/log/a**b/*.log'), /whole path segment/);
  t.match(globProblem('/var/log/[ab.log'), /unclosed "\["/);
  t.match(globProblem('/var/log/{a,b.log'), /unclosed "\{"/);
  t.match(globProblem('/var/log/a}.log'), /without "\{"/);
  t.equal(globProblem('/var/log/*.log'), undefined);
});

t.test('PathFilter: include minus exclude, roots without nesting', async (t) => {
  const f = new PathFilter(['/var/log/*.log', '/var/log/app/**/*.log', '/srv/x.log'], ['/var/log/debug*.log'], '/');
  t.same(f.roots(), ['/srv', '/var/log']);
  t.ok(f.matches('/var/log/syslog.log'));
  t.notOk(f.matches('/var/log/debug-1.log'), 'excluded');
  t.ok(f.matches('/var/log/app/a/b/c.log'));
  t.ok(f.mayContain('/var/log/app'));
  t.ok(f.mayContain('/var/log/app/a'));
  t.notOk(f.mayContain('/var/log/nginx'), 'only app/ is walked below /var/log');
});
