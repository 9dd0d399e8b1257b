import t from 'tap';
import type { TelemetryEvent } from '../events.js';
import { batchCount, decodeBatch, encodeBatch, verifyBatch } from './batch.js';
import { CorruptBatchError } from './corrupt.js';
import { sample } from './testdata/sample.js';
import { ByteWriter } from './writer.js';

t.test('every event kind round-trips exactly', async (t) => {
  const buf = Buffer.from(encodeBatch(sample));
  t.equal(batchCount(buf), sample.length);
  t.same(decodeBatch(buf), sample);
});

t.test('hostile strings round-trip byte for byte (NUL, control characters, lone surrogates become U+FFFD)', async (t) => {
  const nasty = '\u0000\u0001\t\n\r\\"\'\u2028\u{10FFFF}' + 'x'.repeat(70_000);
  const events: TelemetryEvent[] = [{ ...(sample[0] as TelemetryEvent & { kind: 'log' }), message: nasty, labels: { [nasty]: nasty } }];
  t.same(decodeBatch(Buffer.from(encodeBatch(events))), events);
  const lone = [{ ...(sample[0] as TelemetryEvent & { kind: 'log' }), message: 'a\uD800b' }];
  t.equal((decodeBatch(Buffer.from(encodeBatch(lone)))[0] as { message: string }).message, 'a\uFFFDb');
});

t.test('short strings (copied by a loop when ASCII) encode as the native UTF-8 writer would', async (t) => {
  // Every length around the short-string limit, ASCII or not at each position, NUL, a lone surrogate.
  const strings: string[] = [];
  for (let len = 0; len <= 20; len++) {
    const ascii = 'abcdefghijklmnopqrstuvwxyz'.slice(0, len);
    strings.push(ascii, ascii.replace(/.$/, '\u0000'));
    for (let at = 0; at < len; at++) strings.push(`${ascii.slice(0, at)}é${ascii.slice(at + 1)}`, `${ascii.slice(0, at)}\u{1F600}${ascii.slice(at + 1)}`);
  }
  const w = new ByteWriter(4); // small, so each string makes it grow
  for (const s of strings) {
    const start = w.off;
    w.str(s);
    const byLoop = Buffer.from(w.buf.subarray(start, w.off));
    const utf8 = Buffer.from(s, 'utf8');
    const tag = utf8.length * 2 + (utf8.length === s.length ? 1 : 0) + 1;
    // Strings up to 16 characters have a one-byte tag when ASCII; longer or wider ones pad it.
    t.same(byLoop.subarray(byLoop.length - utf8.length), utf8, `bytes of ${JSON.stringify(s)}`);
    t.equal(byLoop[0]! & 0x7f, tag & 0x7f, `tag of ${JSON.stringify(s)}`);
  }
  const events: TelemetryEvent[] = strings.map((message, i) => ({ ...(sample[0] as TelemetryEvent & { kind: 'log' }), level: message, message, labels: { k: message, [`k${i}`]: message } }));
  t.same(decodeBatch(Buffer.from(encodeBatch(events))), events, 'and decode to the same strings');
  const lone = [{ ...(sample[0] as TelemetryEvent & { kind: 'log' }), level: 'a\uD800' }];
  t.equal((decodeBatch(Buffer.from(encodeBatch(lone)))[0] as { level: string }).level, 'a\uFFFD', 'a short string with a lone surrogate too');
});

t.test('a reused writer produces independent results', async (t) => {
  const w = new ByteWriter(8);
  const a = Buffer.from(encodeBatch(sample.slice(0, 3), w));
  const b = Buffer.from(encodeBatch(sample.slice(3), w));
  t.same(decodeBatch(a), sample.slice(0, 3));
  t.same(decodeBatch(b), sample.slice(3));
});

t.test('repeats are cheap: a thousand similar logs encode far smaller than JSON', async (t) => {
  const logs = Array.from({ length: 1000 }, (_, i) => ({ ...(sample[0] as TelemetryEvent & { kind: 'log' }), time_us: i, message: `request ${i}` }));
  const size = encodeBatch(logs).length;
  t.ok(size * 5 < JSON.stringify(logs).length, `${size} bytes`);
});

t.test('damaged batches are rejected as corrupt, not misread', async (t) => {
  const buf = Buffer.from(encodeBatch(sample));
  t.throws(() => decodeBatch(buf.subarray(0, buf.length - 3)), CorruptBatchError);
  t.throws(() => decodeBatch(Buffer.concat([buf, Buffer.from([0])])), /corrupt: checksum mismatch/);
  t.throws(() => decodeBatch(Buffer.from('{"json":true}')), /corrupt: not a Thermocline batch/);
  const wrongVersion = Buffer.from(buf);
  wrongVersion[1] = 9;
  t.throws(() => decodeBatch(wrongVersion), /unsupported batch version 9/);
});

t.test('every single flipped bit in the body fails the checksum: no batch decodes to altered events', async (t) => {
  const buf = Buffer.from(encodeBatch(sample));
  let rejected = 0;
  for (let i = 2; i < buf.length; i++) {
    for (const bit of [0x01, 0x10, 0x80]) {
      const damaged = Buffer.from(buf);
      damaged[i] = (damaged[i] as number) ^ bit;
      try {
        decodeBatch(damaged);
      } catch (err) {
        if (err instanceof CorruptBatchError && err.code === 'TC_QUEUE_BATCH_CORRUPT' && err.reason === 'corrupt') rejected++;
      }
    }
  }
  t.equal(rejected, (buf.length - 2) * 3, 'each damaged copy is a CorruptBatchError');
});

t.test('batches written before the checksum (version 1) are still read after an upgrade', async (t) => {
  // Version 1 is version 2 without the 4 checksum bytes: magic, version, count, events.
  const v2 = Buffer.from(encodeBatch(sample));
  const v1 = Buffer.concat([Buffer.from([0x54, 1]), v2.subarray(6)]);
  t.equal(batchCount(v1), sample.length);
  t.same(decodeBatch(v1), sample);
  t.throws(() => decodeBatch(v1.subarray(0, v1.length - 3)), CorruptBatchError, 'an unreadable old batch is corrupt too');
});

t.test('a version 1 batch from the previous release decodes (fixture bytes)', async (t) => {
  const fixture = Buffer.from(V1_FIXTURE, 'base64');
  t.same(decodeBatch(fixture), [sample[0], sample[3]]);
});

/** `encodeBatch([sample[0], sample[3]])` as written by the release before the checksum (version 1). */
const V1_FIXTURE =
  'VAECAQCp/Z9NEBlDCGFwaQZoMQppbmZvwgBhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYSJiYmJiYmJiYmJiYmJiYmJiDGhlbGxvAwAEYQQxAARiBDICAAhjcHUCAApjb3JlBDAAAAAAAAAUQAAAAAAAANA/';

t.test('verifyBatch checks what decodeBatch checks, without decoding', async (t) => {
  const good = Buffer.from(encodeBatch(sample));
  t.equal(verifyBatch(good), sample.length, 'the event count of a good batch');
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
  t.throws(() => verifyBatch(flipped), CorruptBatchError, 'a flipped bit fails the checksum');
  t.throws(() => verifyBatch(Buffer.from('{"json":1}')), /not a Thermocline batch/);
  const v1 = Buffer.concat([Buffer.from([0x54, 1]), good.subarray(6)]);
  t.equal(verifyBatch(v1), sample.length, 'a version-1 batch (no checksum) is parsed to be checked');
  t.throws(() => verifyBatch(v1.subarray(0, v1.length - 3)), CorruptBatchError, 'and a damaged one is caught by parsing');
});
