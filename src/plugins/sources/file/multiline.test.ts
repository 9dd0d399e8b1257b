import t from 'tap';
import { Multiline } from './multiline.js';
import { TrackedFile } from './tracked-file.js';

t.test('continuation lines join the event before them; the checkpoint waits at its start', async (t) => {
  const out: string[] = [];
  const m = new Multiline({ start_pattern: '^\\d{4}-', timeout_secs: 1, max_bytes: 1000 }, (_f, text) => out.push(text));
  const f = new TrackedFile('1:1', '/x', -1, { len: 0, hash: '' }, 0);
  let offset = 0;
  const feed = (line: string) => {
    m.line(f, line, offset, line.length, 5_000_000);
    offset += line.length + 1;
    f.lineStart = offset;
  };
  feed('  orphan continuation');
  feed('2025-01-01 first');
  t.same(out, ['  orphan continuation'], 'a leading continuation is an event of its own');
  feed('  at a()');
  feed('  at b()');
  t.equal(f.checkpointOffset, 22, 'at the start of the open event');
  feed('2025-01-01 second');
  t.same(out.slice(1), ['2025-01-01 first\n  at a()\n  at b()']);
  t.equal(m.dueAt(f), 5000 + 1000);
  m.finish(f);
  t.same(out.slice(2), ['2025-01-01 second']);
  t.equal(f.checkpointOffset, offset);
  t.equal(m.dueAt(f), undefined);
});

t.test('max_bytes closes an event early', async (t) => {
  const out: string[] = [];
  const m = new Multiline({ start_pattern: '^S', timeout_secs: 1, max_bytes: 10 }, (_f, text) => out.push(text));
  const f = new TrackedFile('1:1', '/x', -1, { len: 0, hash: '' }, 0);
  for (const l of ['S1', ' aaaa', ' bbbb', ' c', 'S2']) m.line(f, l, 0, l.length, 0);
  t.same(out, ['S1\n aaaa\n bbbb', ' c']);
  const big = 'S' + 'x'.repeat(20);
  m.line(f, big, 0, big.length, 0);
  t.same(out.slice(2), ['S2', big], 'a single line above the limit is emitted at once');
});
