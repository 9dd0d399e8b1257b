import t from 'tap';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';

t.test('round trip, compact, with the rotated flag', async (t) => {
  const json = encodeCheckpoint(
    [
      ['1:2', { path: '/var/log/a.log', offset: 10, fp: { len: 10, hash: 'h1' }, rotated: false }],
      ['1:3', { path: '/var/log/a.log', offset: 99, fp: { len: 64, hash: 'h2' }, rotated: true }],
    ],
    1234,
  );
  t.same(json, {
    v: 1,
    t: 1234,
    files: { '1:2': { p: '/var/log/a.log', o: 10, fl: 10, fh: 'h1' }, '1:3': { p: '/var/log/a.log', o: 99, fl: 64, fh: 'h2', r: 1 } },
  });
  const back = decodeCheckpoint(JSON.parse(JSON.stringify(json)));
  t.equal(back.kind, 'ok');
  if (back.kind === 'ok') {
    t.equal(back.savedAtMs, 1234);
    t.same(back.entries.get('1:3'), { path: '/var/log/a.log', offset: 99, fp: { len: 64, hash: 'h2' }, rotated: true });
    t.equal(back.entries.get('1:2')?.rotated, false);
  }
});

t.test('absent and unreadable checkpoints', async (t) => {
  t.same(decodeCheckpoint(undefined), { kind: 'none' });
  t.same(decodeCheckpoint(null), { kind: 'none' });
  t.equal(decodeCheckpoint({ v: 2, files: {} }).kind, 'invalid');
  t.equal(decodeCheckpoint({ next: 5 }).kind, 'invalid');
  t.equal(decodeCheckpoint({ v: 1, files: { k: { p: '/x', o: -1, fl: 0, fh: '' } } }).kind, 'invalid');
  t.equal(decodeCheckpoint({ v: 1, files: { k: { p: '/x', o: 1.5, fl: 0, fh: '' } } }).kind, 'invalid');
});

t.test('the start of the latest look is kept when given, absent from older checkpoints', async (t) => {
  const json = encodeCheckpoint([], 2000, 1500);
  t.same(json, { v: 1, t: 2000, w: 1500, files: {} });
  const back = decodeCheckpoint(JSON.parse(JSON.stringify(json)));
  t.ok(back.kind === 'ok' && back.walkedAtMs === 1500 && back.savedAtMs === 2000);
  const old = decodeCheckpoint({ v: 1, t: 2000, files: {} });
  t.ok(old.kind === 'ok' && old.walkedAtMs === undefined, 'a checkpoint written before it had the field');
});
