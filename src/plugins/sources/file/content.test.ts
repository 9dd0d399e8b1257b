import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ConfigError } from '../../../index.js';
import { eventually, loadTestConfig, startPipeline, tempDir } from '../../../testing/index.js';
import { logs, messages, metric, settle, startFileSource, waitForMessages } from './testdata/harness.js';

t.test('format = "json": fields mapped, the rest as labels, bad lines kept and counted', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.json.log');
  fs.writeFileSync(
    file,
    [
      '{"timestamp":"2025-01-01T00:00:00.250Z","level":"ERROR","message":"payment failed","service":"billing","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","order":42,"user":{"id":7}}',
      'not json at all',
      '{"msg":"no time","ts":"garbage"}',
    ].join('\n') + '\n',
  );
  const { runtime } = await startFileSource(t, 'json', [file], 'format = "json"\nservice = "fallback-svc"\nhost = "web-1"');
  await waitForMessages('json', 3);
  const [a, b, c] = logs('json');
  t.same(a, {
    kind: 'log',
    time_us: Date.UTC(2025, 0, 1) * 1000 + 250_000,
    service: 'billing',
    host: 'web-1',
    level: 'error',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    message: 'payment failed',
    labels: { order: '42', user: '{"id":7}', file },
  });
  t.equal(b?.message, 'not json at all');
  t.equal(b?.service, 'fallback-svc');
  t.equal(c?.message, 'no time');
  t.equal(c?.labels.ts, 'garbage');
  t.ok(Math.abs((c?.time_us ?? 0) - Date.now() * 1000) < 60_000_000, 'read time when the timestamp is unreadable');
  t.equal(await metric(runtime, 'thermocline_file_parse_errors_total'), 1);
  t.equal(await metric(runtime, 'thermocline_file_invalid_timestamps_total'), 1);
});

t.test('format = "json": lines read from their bytes, with CRLF, UTF-8, no message field, and invalid UTF-8', async (t) => {
  const dir = tempDir(t);
  const utf8 = path.join(dir, 'utf8.log');
  // A chunk of valid UTF-8 with CRLF line ends: every line is read from its bytes.
  fs.writeFileSync(utf8, '{"message":"héllo ✓","level":"Info","k":"ü"}\r\n{"n":1.50,"ok":true}\r\n');
  const broken = path.join(dir, 'broken.log');
  // A chunk with an invalid byte: its lines are decoded (and counted) as strings instead.
  fs.writeFileSync(broken, Buffer.concat([Buffer.from('{"message":"fine"}\n{"message":"bad '), Buffer.from([0xff]), Buffer.from('"}\n')]));
  const { runtime } = await startFileSource(t, 'bytes', [utf8, broken], 'format = "json"\npath_label = ""');
  await waitForMessages('bytes', 4);
  const byMessage = new Map(logs('bytes').map((e) => [e.message, e]));
  t.same(byMessage.get('héllo ✓')?.labels, { k: 'ü' });
  t.equal(byMessage.get('héllo ✓')?.level, 'info');
  t.same(byMessage.get('{"n":1.50,"ok":true}')?.labels, { n: '1.5', ok: 'true' }, 'no message field: the line, without its CR');
  t.ok(byMessage.has('fine'));
  t.ok(byMessage.has('bad \ufffd'));
  t.equal(await metric(runtime, 'thermocline_file_invalid_utf8_lines_total'), 1);
  t.equal(await metric(runtime, 'thermocline_file_parse_errors_total'), 0);
});

t.test('format = "logfmt"', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'app.log');
  fs.writeFileSync(file, 'ts=1735689600 level=warn msg="disk almost full" free_mb=512\n');
  await startFileSource(t, 'logfmt', [file], 'format = "logfmt"\npath_label = ""');
  await waitForMessages('logfmt', 1);
  const [e] = logs('logfmt');
  t.equal(e?.time_us, 1_735_689_600_000_000);
  t.equal(e?.level, 'warn');
  t.equal(e?.message, 'disk almost full');
  t.same(e?.labels, { free_mb: '512' }, 'no path label when path_label is empty');
});

t.test('invalid UTF-8 is replaced with U+FFFD and counted', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'bin.log');
  fs.writeFileSync(file, Buffer.concat([Buffer.from('before\nbroken '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(' end\nafter ✓\n')]));
  const { runtime } = await startFileSource(t, 'utf8', [file]);
  t.same(await waitForMessages('utf8', 3), ['before', 'broken \ufffd(\ufffd end', 'after ✓']);
  t.equal(await metric(runtime, 'thermocline_file_invalid_utf8_lines_total'), 1);
});

t.test('over-long lines: truncated by default, skipped on request, counted either way', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'long.log');
  fs.writeFileSync(file, `short\n${'x'.repeat(5000)}\nafter\n`);
  const { runtime } = await startFileSource(t, 'long', [file], 'max_line_bytes = "1KiB"');
  t.same(await waitForMessages('long', 3), ['short', 'x'.repeat(1024), 'after']);
  t.equal(await metric(runtime, 'thermocline_file_long_lines_total'), 1);

  const file2 = path.join(dir, 'skip.log');
  fs.writeFileSync(file2, `short\n${'y'.repeat(5000)}\nafter\n`);
  const skip = await startFileSource(t, 'longskip', [file2], 'max_line_bytes = 1024\non_long_line = "skip"');
  t.same(await waitForMessages('longskip', 2), ['short', 'after']);
  t.equal(await metric(skip.runtime, 'thermocline_file_long_lines_total'), 1);
});

t.test('multiline: stack traces become one event; the last one after the timeout', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'java.log');
  fs.writeFileSync(
    file,
    [
      '2025-01-01 10:00:00 ERROR boom',
      'java.lang.IllegalStateException: bad',
      '\tat com.example.A.run(A.java:10)',
      '\tat com.example.B.call(B.java:20)',
      '2025-01-01 10:00:01 INFO recovered',
      '',
    ].join('\n'),
  );
  await startFileSource(t, 'multi', [file], 'multiline = { start_pattern = "^\\\\d{4}-\\\\d{2}-\\\\d{2} ", timeout_secs = 0.3 }');
  const got = await waitForMessages('multi', 2);
  t.same(got, [
    '2025-01-01 10:00:00 ERROR boom\njava.lang.IllegalStateException: bad\n\tat com.example.A.run(A.java:10)\n\tat com.example.B.call(B.java:20)',
    '2025-01-01 10:00:01 INFO recovered',
  ]);
});

t.test('when the queue is full, reading pauses: the source does not run ahead of the queue', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'big.log');
  const total = 200_000;
  const line = (i: number) => `line ${String(i).padStart(7, '0')} ${'p'.repeat(60)}`;
  fs.writeFileSync(file, Array.from({ length: total }, (_, i) => line(i)).join('\n') + '\n');
  const size = fs.statSync(file).size;
  const { runtime } = await startPipeline(
    t,
    `
[sources.f]
type = "file"
include = [${JSON.stringify(file)}]

[sinks.slow]
type = "memory_recorder"
inputs = ["f"]
delay_ms = 100
buffer = { max_bytes = 65536 }
batch = { max_events = 1000 }
`,
  );
  await eventually(() => messages('slow').length > 0, 10_000, 'first delivery');
  await settle(500);
  const stats = runtime.metrics.componentStats().find((s) => s.id === 'f' && s.kind === 'source');
  const read = stats?.receivedBytes ?? 0;
  t.ok(read < size / 2, `the source stopped reading ahead (${read} of ${size} bytes committed)`);
  const ahead = (stats?.receivedEvents ?? 0) - messages('slow').length;
  t.ok(ahead <= 3 * 8192, `at most a queued batch, one in delivery and one waiting are ahead of the sink (${ahead} events)`);
});

t.test('configuration errors name the option and say what is wrong', async (t) => {
  const dir = tempDir(t);
  const bad = async (toml: string) => {
    try {
      await loadTestConfig(`[sources.f]\ntype = "file"\n${toml}\n[sinks.s]\ntype = "memory_recorder"\ninputs = ["f"]\n`, { dataDir: dir });
    } catch (err) {
      return err instanceof ConfigError ? err.message : String(err);
    }
    return 'accepted';
  };
  t.match(await bad('include = []'), /sources\.f\.include.*at least one/);
  t.match(await bad('include = ["/var/log/**"]'), /must end in a file name pattern/);
  t.match(await bad('include = ["/x/*.log"]\nmultiline = { start_pattern = "(" }'), /multiline\.start_pattern.*not a valid regular expression/);
  t.match(await bad('include = ["/x/*.log"]\nformat = "xml"'), /sources\.f\.format/);
  t.match(await bad('include = ["/x/*.log"]\nmax_line_bytes = "10 parsecs"'), /is not a size/);
  t.match(await bad('include = ["/x/*.log"]\nfields = { levle = "x" }'), /levle/);
  t.equal(await bad('include = ["/x/*.log"]\nfields = { level = ["severity", "lvl"] }\nmultiline = { start_pattern = "^\\\\S" }'), 'accepted');
});
