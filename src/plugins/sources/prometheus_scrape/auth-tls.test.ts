import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { received, eventually, startPipeline, tempDir } from '../../../testing/index.js';
import { metrics, reportSeries, serve } from './testdata/helpers.js';

/** Bearer and basic auth (with `${ENV}` values and files), TLS with a private CA and client certificates. */

const tlsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'tls');
const pem = (name: string) => fs.readFileSync(path.join(tlsDir, name));
const tlsFile = (name: string) => JSON.stringify(path.join(tlsDir, name));

// Generous timeouts: a TLS handshake on a loaded test machine can take a few hundred ms.
function pipeline(sink: string, options: string): string {
  return `
[sources.app]
type = "prometheus_scrape"
interval = "1500ms"
timeout = "1400ms"
${options}

[sinks.${sink}]
type = "memory_recorder"
inputs = ["app"]
`;
}

const ok = 'secured_metric 1\n';

t.test('bearer token from the environment', async (t) => {
  const target = await serve(t, (req, res) => {
    res.statusCode = req.headers.authorization === 'Bearer s3cret-token' ? 200 : 401;
    res.end(ok);
  });
  await startPipeline(t, pipeline('rec_bearer', `endpoints = ["${target.url}"]\nbearer_token = "\${PROM_TOKEN}"`), { env: { PROM_TOKEN: 's3cret-token' } });
  await eventually(() => reportSeries(received('rec_bearer'), 'up').length > 0, 10_000, 'a scrape');
  t.equal(reportSeries(received('rec_bearer'), 'up')[0], 1);
  t.ok(metrics(received('rec_bearer')).some((e) => e.name === 'secured_metric'));
});

t.test('bearer_token_file is read before every scrape, so a rotated token is used', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, 'first\n');
  let expected = 'first';
  const target = await serve(t, (req, res) => {
    res.statusCode = req.headers.authorization === `Bearer ${expected}` ? 200 : 401;
    res.end(ok);
  });
  await startPipeline(t, pipeline('rec_tokenfile', `endpoints = ["${target.url}"]\nbearer_token_file = ${JSON.stringify(file)}`));
  await eventually(() => reportSeries(received('rec_tokenfile'), 'up').length > 0, 10_000, 'a scrape');
  t.equal(reportSeries(received('rec_tokenfile'), 'up')[0], 1);
  expected = 'second';
  const seen = reportSeries(received('rec_tokenfile'), 'up').length;
  await eventually(() => reportSeries(received('rec_tokenfile'), 'up').length > seen + 1, 20_000, 'a scrape with the old token');
  t.equal(reportSeries(received('rec_tokenfile'), 'up').at(-1), 0, 'the old token is refused');
  fs.writeFileSync(file, 'second\n');
  await eventually(() => reportSeries(received('rec_tokenfile'), 'up').at(-1) === 1, 20_000, 'the rotated token to be used');
  t.pass('the rotated token is read from the file');
});

t.test('basic auth with a password file, and wrong credentials', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'password');
  fs.writeFileSync(file, 'pa:ss\n');
  const target = await serve(t, (req, res) => {
    res.statusCode = req.headers.authorization === `Basic ${Buffer.from('scraper:pa:ss').toString('base64')}` ? 200 : 401;
    res.end(ok);
  });
  await startPipeline(
    t,
    pipeline('rec_basic', `endpoints = ["${target.url}"]\nbasic_auth = { username = "scraper", password_file = ${JSON.stringify(file)} }`),
  );
  const { logs } = await startPipeline(
    t,
    pipeline('rec_basic_wrong', `endpoints = ["${target.url}"]\nbasic_auth = { username = "scraper", password = "nope" }`).replace(/\bapp\b/g, 'app2'),
  );
  await eventually(() => reportSeries(received('rec_basic'), 'up').length > 0 && reportSeries(received('rec_basic_wrong'), 'up').length > 0, 10_000, 'scrapes');
  t.equal(reportSeries(received('rec_basic'), 'up')[0], 1);
  t.equal(reportSeries(received('rec_basic_wrong'), 'up')[0], 0);
  t.match(
    logs.lines.find((l) => l.code === 'TC_PROM_SCRAPE_FAILED'),
    { msg: /HTTP 401/ },
  );
  t.notMatch(JSON.stringify(logs.lines), /nope/, 'the password is not logged');
});

t.test('TLS: a private CA, server_name, insecure_skip_verify, and a wrong CA', async (t) => {
  const target = await serve(t, (_req, res) => res.end(ok), { key: pem('server.key'), cert: pem('server.pem') });
  const cases = [
    { sink: 'rec_tls_ca', options: `tls = { ca_file = ${tlsFile('ca.pem')} }`, up: 1 },
    { sink: 'rec_tls_name', options: `tls = { ca_file = ${tlsFile('ca.pem')}, server_name = "metrics.test" }`, up: 1 },
    { sink: 'rec_tls_wrongname', options: `tls = { ca_file = ${tlsFile('ca.pem')}, server_name = "elsewhere.test" }`, up: 0 },
    { sink: 'rec_tls_system', options: '', up: 0 },
    { sink: 'rec_tls_other', options: `tls = { ca_file = ${tlsFile('other-ca.pem')} }`, up: 0 },
    { sink: 'rec_tls_insecure', options: 'tls = { insecure_skip_verify = true }', up: 1 },
  ];
  const logsBySink = new Map<string, Array<Record<string, unknown>>>();
  for (const [i, c] of cases.entries()) {
    const { logs } = await startPipeline(t, pipeline(c.sink, `endpoints = ["${target.url}"]\n${c.options}`).replace(/\bapp\b/g, `app${i}`));
    logsBySink.set(c.sink, logs.lines);
  }
  await eventually(() => cases.every((c) => reportSeries(received(c.sink), 'up').length > 0), 10_000, 'scrapes');
  for (const c of cases) t.equal(reportSeries(received(c.sink), 'up')[0], c.up, `${c.sink}: up = ${c.up}`);
  t.match(
    logsBySink.get('rec_tls_other')?.find((l) => l.code === 'TC_PROM_SCRAPE_FAILED'),
    { msg: /certificate/i },
    'the log says what is wrong with the certificate',
  );
});

t.test('TLS client certificates (mutual TLS)', async (t) => {
  const target = await serve(t, (_req, res) => res.end(ok), {
    key: pem('server.key'),
    cert: pem('server.pem'),
    ca: pem('ca.pem'),
    requestCert: true,
    rejectUnauthorized: true,
  });
  await startPipeline(
    t,
    pipeline(
      'rec_mtls',
      `endpoints = ["${target.url}"]\ntls = { ca_file = ${tlsFile('ca.pem')}, cert_file = ${tlsFile('client.pem')}, key_file = ${tlsFile('client.key')} }`,
    ),
  );
  await startPipeline(t, pipeline('rec_mtls_none', `endpoints = ["${target.url}"]\ntls = { ca_file = ${tlsFile('ca.pem')} }`).replace(/\bapp\b/g, 'app2'));
  await eventually(() => reportSeries(received('rec_mtls'), 'up').length > 0 && reportSeries(received('rec_mtls_none'), 'up').length > 0, 10_000, 'scrapes');
  t.equal(reportSeries(received('rec_mtls'), 'up')[0], 1, 'with the client certificate');
  t.equal(reportSeries(received('rec_mtls_none'), 'up')[0], 0, 'without it');
});

t.test('an unreadable TLS file fails the start with TC_PROM_CREDENTIALS, retried in the background', async (t) => {
  const { logs, runtime } = await startPipeline(
    t,
    pipeline('rec_nofile', 'endpoints = ["https://127.0.0.1:1/metrics"]\ntls = { ca_file = "/nonexistent/ca.pem" }'),
  );
  const line = logs.lines.find((l) => (l.err as { code?: string } | undefined)?.code === 'TC_PROM_CREDENTIALS');
  t.match(line?.msg, /failed to start, will retry: cannot read tls.ca_file "\/nonexistent\/ca.pem"/);
  t.equal(runtime.statuses().find((s) => s.id === 'app')?.state, 'failed');
});
