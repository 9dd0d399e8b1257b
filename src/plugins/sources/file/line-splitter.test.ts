import t from 'tap';
import { LineSplitter } from './line-splitter.js';
import { TrackedFile } from './tracked-file.js';

interface Seen {
  text: string;
  start: number;
  bytes: number;
}

/** Feeds `chunks` as the source does (held-back tail first) and records lines and offsets. */
function split(chunks: Array<string | Buffer>, maxLine = 64, onLong: 'truncate' | 'skip' = 'truncate') {
  const seen: Seen[] = [];
  const s = new LineSplitter(maxLine, onLong, { line: (_f, text, start, bytes) => seen.push({ text, start, bytes }) });
  const f = new TrackedFile('1:1', '/x.log', -1, { len: 0, hash: '' }, 0);
  const buf = Buffer.alloc(4096);
  for (const c of chunks) {
    const bytes = typeof c === 'string' ? Buffer.from(c) : c;
    const tailLen = f.tail ? f.tail.copy(buf, 0) : 0;
    bytes.copy(buf, tailLen);
    const base = f.readPos - tailLen;
    f.readPos += bytes.length;
    const data = buf.subarray(0, tailLen + bytes.length);
    const pos = s.lines(f, data, base, 0, 0, () => false);
    s.keepRest(f, data, pos);
  }
  return { seen, f, s };
}

t.test('lines across chunk boundaries, with offsets; CRLF is stripped', async (t) => {
  const { seen, f } = split(['one\ntw', 'o\r\nthr', 'ee', '\n\nlast']);
  t.same(
    seen.map((l) => [l.text, l.start, l.bytes]),
    [
      ['one', 0, 3],
      ['two', 4, 3],
      ['three', 9, 5],
      ['', 15, 0],
    ],
  );
  t.equal(f.lineStart, 16, 'just past the last complete line');
  t.equal(f.tail?.toString(), 'last', 'the partial line is held back');
  t.equal(f.checkpointOffset, 16);
});

t.test('flushPartial emits the held-back line and moves the offset to what was read', async (t) => {
  const { seen, f, s } = split(['a\nbc\r']);
  s.flushPartial(f, 0);
  t.same(
    seen.map((l) => l.text),
    ['a', 'bc'],
  );
  t.equal(f.lineStart, 5);
  t.notOk(f.hasPartial);
});

t.test('over-long lines are truncated at a character boundary, or skipped, and counted', async (t) => {
  const long = `${'é'.repeat(20)}\n`; // 40 bytes of two-byte characters
  const a = split([`x\n${long}y\n`], 15);
  t.same(
    a.seen.map((l) => l.text),
    ['x', 'é'.repeat(7), 'y'],
    '15 bytes would split a character: 14 are kept',
  );
  t.equal(a.s.counts.longLines, 1);
  const b = split([`x\n${long}y\n`], 15, 'skip');
  t.same(
    b.seen.map((l) => l.text),
    ['x', 'y'],
  );
  t.equal(b.s.counts.longLines, 1);
});

t.test('an over-long line spread over many chunks is not buffered whole', async (t) => {
  const { seen, f, s } = split(['start\n', 'a'.repeat(50), 'b'.repeat(50), 'c'.repeat(50), 'c\nend\n'], 20);
  t.same(
    seen.map((l) => l.text),
    ['start', 'a'.repeat(20), 'end'],
  );
  t.equal(s.counts.longLines, 1);
  t.equal(f.lineStart, 6 + 151 + 1 + 4);
  t.equal(seen[1]?.start, 6, 'the truncated line carries its own start offset');
  const skipping = split(['a'.repeat(30), 'b'.repeat(30)], 20, 'skip');
  t.ok(skipping.f.discarding, 'still inside the long line');
  t.equal(skipping.f.tail, undefined, 'nothing of it is held');
  t.equal(skipping.f.longPrefix, undefined);
  t.equal(skipping.f.checkpointOffset, 0, 'a restart re-reads it from its start');
});

t.test('invalid UTF-8 is replaced and counted per line', async (t) => {
  const bad = Buffer.concat([Buffer.from('ok\nbad '), Buffer.from([0xff, 0xfe]), Buffer.from('\nalso ok ü\n')]);
  const { seen, s } = split([bad]);
  t.same(
    seen.map((l) => l.text),
    ['ok', 'bad \ufffd\ufffd', 'also ok ü'],
  );
  t.equal(s.counts.invalidUtf8, 1);
  const ascii = split(['plain ascii\n']);
  t.equal(ascii.s.counts.invalidUtf8, 0);
});

t.test('stopping when the batch is full resumes at the same place', async (t) => {
  const seen: string[] = [];
  const s = new LineSplitter(100, 'truncate', { line: (_f, text) => seen.push(text) });
  const f = new TrackedFile('1:1', '/x', -1, { len: 0, hash: '' }, 100);
  const data = Buffer.from('a\nb\nc\nd');
  let pos = 0;
  let calls = 0;
  for (;;) {
    calls++;
    const before = seen.length;
    pos = s.lines(f, data, 100, pos, 0, () => seen.length - before >= 2);
    if (pos >= data.lastIndexOf(10) + 1) break;
    t.equal(f.lineStart, 100 + pos, 'the offset covers exactly the lines handed on');
  }
  s.keepRest(f, data, pos);
  t.same(seen, ['a', 'b', 'c']);
  t.equal(calls, 2);
  t.equal(f.tail?.toString(), 'd');
});
