import net from 'node:net';
import zlib from 'node:zlib';
import t, { type Test } from 'tap';
import { received, eventually, startPipeline } from '../../../testing/index.js';
import { metrics, reportSeries, serve } from './testdata/helpers.js';

/**
 * Targets that fail: each failed scrape gives `up = 0`, `scrape_samples_scraped = 0`, a counted
 * failure and a rate-limited log line with the error's code, and the agent keeps running.
 */

function pipeline(sink: string, options: string): string {
  return `
[sources.app]
type = "prometheus_scrape"
${options.includes('interval =') ? '' : 'interval = "500ms"'}
${options.includes('timeout =') ? '' : 'timeout = "300ms"'}
${options}

[sinks.${sink}]
type = "memory_recorder"
inputs = ["app"]
`;
}

async function failedScrape(t: Test, sink: string, options: string) {
  const started = await startPipeline(t, pipeline(sink, options));
  await eventually(() => reportSeries(received(sink), 'up').length > 0, 10_000, 'a scrape');
  const events = metrics(received(sink));
  t.same(
    events.slice(0, 3).map((e) => e.name),
    ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'],
    'only the synthetic series',
  );
  t.same([reportSeries(events, 'up')[0], reportSeries(events, 'scrape_samples_scraped')[0]], [0, 0], 'up = 0, no samples');
  t.match(await started.runtime.metrics.text(), /thermocline_prometheus_scrape_scrape_failures_total\{component_id="app"\} [1-9]/);
  return { ...started, events };
}

t.test('a target that does not answer within the timeout', async (t) => {
  const target = await serve(t, () => {
    /* never answers */
  });
  const { logs, events } = await failedScrape(t, 'rec_timeout', `endpoints = ["${target.url}"]`);
  const duration = reportSeries(events, 'scrape_duration_seconds')[0] ?? 0;
  t.ok(duration >= 0.29, `the duration is at least the timeout (${duration}s)`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_SCRAPE_FAILED'),
    { level: 40, msg: /scrape of http:\/\/127\.0\.0\.1:\d+\/metrics failed \(up = 0\): the scrape timed out after 0\.3s/ },
  );
});

t.test('a target that answers 500', async (t) => {
  const target = await serve(t, (_req, res) => {
    res.statusCode = 500;
    res.end('# oops\nfoo 1\n');
  });
  const { logs } = await failedScrape(t, 'rec_500', `endpoints = ["${target.url}"]`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_SCRAPE_FAILED'),
    { msg: /the target answered HTTP 500 \(Prometheus expects 200\)/ },
  );
});

t.test('a target that answers an HTML page', async (t) => {
  const target = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!DOCTYPE html>\n<html><head><title>Grafana</title></head><body>Login</body></html>\n');
  });
  const { logs } = await failedScrape(t, 'rec_html', `endpoints = ["${target.url}"]`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_NOT_EXPOSITION'),
    { msg: /the body is not exposition text: it starts with "<!DOCTYPE html>/ },
  );
});

t.test('a 60 MB body fails cleanly against the default 50 MiB limit, without being read to the end', async (t) => {
  const chunk = Buffer.from(`${'padding_metric_with_a_long_name{label="value"} 1\n'.repeat(20_000)}`);
  let written = 0;
  let closedEarly = false;
  const target = await serve(t, async (_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.on('close', () => {
      if (!res.writableFinished) closedEarly = true;
    });
    while (written < 60_000_000 && !res.destroyed) {
      written += chunk.length;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.on('drain', done).on('close', done);
        });
      }
    }
    res.end();
  });
  const { logs } = await failedScrape(t, 'rec_huge', `endpoints = ["${target.url}"]\ntimeout = "5s"\ninterval = "6s"`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_BODY_TOO_LARGE'),
    { msg: /the body is larger than max_body_bytes \(52428800 bytes\) on the wire/ },
  );
  await eventually(() => closedEarly, 5000, 'the connection to be closed');
  t.ok(written < 60_000_000, `the server could not write everything (${written} bytes written)`);
});

t.test('a Content-Length above the limit fails before the body is read', async (t) => {
  const target = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.setHeader('content-length', '3000');
    res.end('x'.repeat(3000));
  });
  const { logs } = await failedScrape(t, 'rec_length', `endpoints = ["${target.url}"]\nmax_body_bytes = "2KiB"`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_BODY_TOO_LARGE'),
    { msg: /\(2048 bytes\) it announced 3000 bytes/ },
  );
});

t.test('a small gzip body that inflates past the limit (a gzip bomb)', async (t) => {
  const bomb = zlib.gzipSync(Buffer.alloc(4 * 1024 * 1024, 'a'));
  t.ok(bomb.length < 64 * 1024, 'the compressed body is small');
  const target = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.setHeader('content-encoding', 'gzip');
    res.end(bomb);
  });
  const { logs } = await failedScrape(t, 'rec_bomb', `endpoints = ["${target.url}"]\nmax_body_bytes = "1MiB"`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_BODY_TOO_LARGE'),
    { msg: /after gzip decompression/ },
  );
});

t.test('a broken gzip body and an unknown Content-Encoding', async (t) => {
  const target = await serve(t, (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.setHeader('content-encoding', req.url?.includes('br') ? 'br' : 'gzip');
    res.end('not gzip at all');
  });
  const { logs } = await failedScrape(t, 'rec_badgzip', `endpoints = ["${target.url}", "${target.url}?br"]`);
  await eventually(() => logs.lines.filter((l) => l.code === 'TC_PROM_SCRAPE_FAILED').length >= 2, 5000, 'two failures');
  const messages = logs.lines.filter((l) => l.code === 'TC_PROM_SCRAPE_FAILED').map((l) => String(l.msg));
  t.ok(
    messages.some((m) => /the gzip body cannot be decompressed/.test(m)),
    'gzip error',
  );
  t.ok(
    messages.some((m) => /unsupported Content-Encoding "br"/.test(m)),
    'unknown encoding',
  );
});

t.test('nothing listens on the port', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const { logs } = await failedScrape(t, 'rec_refused', `endpoints = ["http://127.0.0.1:${port}/metrics"]`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_SCRAPE_FAILED'),
    { msg: /ECONNREFUSED/ },
  );
});

t.test('failure logs are rate-limited per target while up = 0 is written for every scrape', async (t) => {
  const target = await serve(t, (_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  const { logs } = await startPipeline(t, pipeline('rec_many', `endpoints = ["${target.url}"]\ninterval = "100ms"\ntimeout = "50ms"`));
  await eventually(() => reportSeries(received('rec_many'), 'up').length >= 8, 10_000, '8 scrapes');
  t.ok(reportSeries(received('rec_many'), 'up').every((v) => v === 0));
  t.equal(logs.lines.filter((l) => l.code === 'TC_PROM_SCRAPE_FAILED').length, 5, 'at most 5 lines a minute for one target');
});

t.test('redirects are followed unless follow_redirects = false', async (t) => {
  const target = await serve(t, (req, res) => {
    if (req.url === '/metrics') {
      res.statusCode = 302;
      res.setHeader('location', '/real/metrics');
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end('moved_metric 1\n');
  });
  await startPipeline(t, pipeline('rec_redirect', `endpoints = ["${target.url}"]`));
  await eventually(() => metrics(received('rec_redirect')).some((e) => e.name === 'moved_metric'), 10_000, 'the redirected scrape');
  t.equal(target.requests.filter((r) => r.url === '/real/metrics').length >= 1, true, 'followed to the new location');
  const { logs } = await failedScrape(t, 'rec_noredirect', `endpoints = ["${target.url}"]\nfollow_redirects = false`);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_SCRAPE_FAILED'),
    { msg: /HTTP 302/ },
  );
});
