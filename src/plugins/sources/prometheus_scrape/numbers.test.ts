import t from 'tap';
import { parseTimestampUs, parseValue, scanEnd, scanValue } from './numbers.js';

const value = (s: string) => parseValue(s, 0, s.length);

t.test('decimals read without Number() are exactly what Number() reads', async (t) => {
  // A deterministic generator, so a failure can be reproduced.
  let seed = 42;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const samples = [
    '0',
    '-0',
    '0.1',
    '0.3',
    '2.05',
    '9036.32',
    '4.20072246e+06',
    '0.000019507',
    '123456789012345.6',
    '9007199254740993',
    '1e22',
    '1e23',
    '5e-324',
    '.5',
    '5.',
    '+1.5',
  ];
  for (let k = 0; k < 20_000; k++) {
    const digits = 1 + Math.floor(random() * 19);
    let s = '';
    for (let d = 0; d < digits; d++) s += String(Math.floor(random() * 10));
    const dot = Math.floor(random() * (digits + 1));
    s = `${s.slice(0, dot)}.${s.slice(dot)}`;
    if (random() < 0.5) s += `e${random() < 0.5 ? '-' : '+'}${Math.floor(random() * 30)}`;
    samples.push(random() < 0.3 ? `-${s}` : s);
    const r = random() * 10 ** Math.floor(random() * 40 - 20);
    samples.push(String(r), r.toExponential(Math.floor(random() * 15)), r.toFixed(Math.floor(random() * 12)));
  }
  const wrong = samples.filter((s) => !Object.is(value(s), Number(s)));
  t.same(wrong, [], `${samples.length} values`);
});

t.test('what Go accepts and refuses', async (t) => {
  t.same(['NaN', 'nan', '+Inf', '-Inf', 'Inf', 'infinity', '-infinity'].map(value), [NaN, NaN, Infinity, -Infinity, Infinity, Infinity, -Infinity]);
  t.same(['1e', 'e5', '.', '1_000', '0x1F', '0b1', '--1', '1.2.3', '1e+', 'abc', '-', '+', ''].map(value), Array(13).fill(undefined));
});

t.test('a token ends at a blank', async (t) => {
  const line = 'x 1.5e3\t1700000000123';
  t.equal(scanValue(line, 2, line.length), 1500);
  t.equal(scanEnd, 7);
  t.equal(parseTimestampUs(line, 8, line.length, false), 1_700_000_000_123_000);
  t.equal(parseTimestampUs('1.5', 0, 3, false), undefined, 'text-format timestamps are integers of milliseconds');
  t.equal(parseTimestampUs('1.5', 0, 3, true), 1_500_000, 'OpenMetrics timestamps are seconds');
  t.equal(parseTimestampUs('NaN', 0, 3, true), undefined);
});
