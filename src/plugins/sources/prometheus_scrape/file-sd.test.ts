import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { received, eventually, startPipeline, tempDir } from '../../../testing/index.js';
import { prometheusScrapeConfig } from './config.js';
import { parseTargetFile, patternProblem } from './file-sd.js';
import { discoveredTarget } from './targets.js';
import { metrics, serve } from './testdata/helpers.js';

t.test('target files in the Prometheus file-SD format, JSON and YAML', async (t) => {
  t.same(parseTargetFile('a.json', '[{"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], "labels": {"env": "prod"}}, {"targets": ["h:1"]}]'), [
    { targets: ['10.0.0.1:9100', '10.0.0.2:9100'], labels: { env: 'prod' } },
    { targets: ['h:1'], labels: {} },
  ]);
  t.same(parseTargetFile('a.yml', '- targets: ["h:9100"]\n  labels:\n    __metrics_path__: /probe\n    team: db\n'), [
    { targets: ['h:9100'], labels: { __metrics_path__: '/probe', team: 'db' } },
  ]);
  t.same(parseTargetFile('a.json', '[]'), []);
  t.throws(() => parseTargetFile('a.json', '  \n'), { message: 'the file is empty (write [] for no targets)' });
  t.throws(() => parseTargetFile('a.json', '[{"targets": ['), { message: /^not valid JSON: / });
  t.throws(() => parseTargetFile('a.yaml', 'targets: [a'), { message: /^not valid YAML: / });
  t.throws(() => parseTargetFile('a.json', '{"targets": ["h:1"]}'), { message: /^not in the file-SD format \(a list of \{ targets, labels \} groups\): / });
  t.throws(() => parseTargetFile('a.json', '[{"targets": "h:1"}]'), { message: /\[0\]\.targets: / });
  t.throws(() => parseTargetFile('a.json', '[{"targets": ["h:1"], "labels": {"bad-name": "x"}}]'), {
    message: '[0].labels: "bad-name" is not a valid label name (letters, digits and "_", not starting with a digit)',
  });
  t.throws(() => parseTargetFile('a.json', '[{"targets": ["h:1"], "extra": 1}]'), { message: /not in the file-SD format/ });
});

t.test('file patterns', async (t) => {
  t.equal(patternProblem('/etc/targets/*.json'), undefined);
  t.equal(patternProblem('targets/node-??.yml'), undefined);
  t.match(patternProblem('/etc/targets/*.txt'), /must end in .json, .yml or .yaml/);
  t.match(patternProblem('/etc/*/targets.json'), /wildcards are only allowed in the last path segment/);
});

t.test('a discovered target, as Prometheus builds it from a group', async (t) => {
  const config = prometheusScrapeConfig.parse({ file_sd: { files: ['x.json'] }, labels: { dc: 'eu', env: 'default' }, params: { format: 'text' } });
  t.same(discoveredTarget(config, 'nodes', '10.0.0.1:9100', { env: 'prod', __meta_x: 'y' }), {
    key: 'http://10.0.0.1:9100/metrics?format=text\u0000{"dc":"eu","env":"prod","instance":"10.0.0.1:9100","job":"nodes"}',
    url: 'http://10.0.0.1:9100/metrics?format=text',
    labels: { dc: 'eu', env: 'prod', instance: '10.0.0.1:9100', job: 'nodes' },
  });
  const probe = discoveredTarget(config, 'nodes', 'blackbox:9115', {
    __scheme__: 'https',
    __metrics_path__: '/probe',
    __param_target: 'https://example.com',
    __param_format: 'om',
    job: 'blackbox',
    instance: 'example.com',
  });
  t.match(probe, {
    url: 'https://blackbox:9115/probe?format=om&target=https%3A%2F%2Fexample.com',
    labels: { dc: 'eu', env: 'default', instance: 'example.com', job: 'blackbox' },
  });
  t.equal(discoveredTarget(config, 'n', 'http://h:1/metrics', {}), '"http://h:1/metrics" is not a host:port target address');
  t.equal(discoveredTarget(config, 'n', 'h:1', { __scheme__: 'ftp' }), '__scheme__ "ftp" of "h:1" must be http or https');
});

t.test('file_sd: targets follow the files as they change; a broken file keeps its targets', async (t) => {
  const dir = tempDir(t);
  const a = await serve(t, (_req, res) => res.end('from_a 1\n'));
  const b = await serve(t, (_req, res) => res.end('from_b 1\n'));
  const c = await serve(t, (_req, res) => res.end('from_c 1\n'));
  const json = path.join(dir, 'nodes.json');
  const yaml = path.join(dir, 'more-1.yml');
  fs.writeFileSync(json, JSON.stringify([{ targets: [`127.0.0.1:${a.port}`], labels: { team: 'x' } }]));
  fs.writeFileSync(path.join(dir, 'ignored.txt'), 'not a target file');
  const { logs, runtime } = await startPipeline(
    t,
    `
[sources.app]
type = "prometheus_scrape"
interval = "200ms"
timeout = "150ms"
file_sd = { files = [${JSON.stringify(path.join(dir, '*.json'))}, ${JSON.stringify(path.join(dir, 'more-?.yml'))}], refresh_interval = "1h" }

[sinks.rec_sd]
type = "memory_recorder"
inputs = ["app"]
`,
  );
  const names = () => metrics(received('rec_sd')).map((e) => e.name);
  await eventually(() => names().includes('from_a'), 10_000, 'target a');
  t.same(metrics(received('rec_sd')).find((e) => e.name === 'from_a')?.labels, { instance: `127.0.0.1:${a.port}`, job: 'app', team: 'x' });

  fs.writeFileSync(json, JSON.stringify([{ targets: [`127.0.0.1:${b.port}`] }]));
  await eventually(() => names().includes('from_b'), 10_000, 'target b after the file changed');
  const aRequests = a.requests.length;
  await eventually(() => b.requests.length >= 4, 10_000, 'more scrapes of b');
  t.ok(a.requests.length <= aRequests + 1, 'a is no longer scraped');

  fs.writeFileSync(json, '[{"targets": [');
  await eventually(() => logs.lines.some((l) => l.code === 'TC_PROM_FILE_SD'), 10_000, 'the parse error to be logged');
  t.match(logs.lines.find((l) => l.code === 'TC_PROM_FILE_SD')?.msg, /nodes\.json: not valid JSON: .*; keeping its previous targets/);
  const bRequests = b.requests.length;
  await eventually(() => b.requests.length >= bRequests + 2, 10_000, 'b still scraped');
  t.match(await runtime.metrics.text(), /thermocline_prometheus_scrape_file_sd_errors_total\{component_id="app"\} [1-9]/);

  fs.writeFileSync(yaml, `- targets: ["127.0.0.1:${c.port}"]\n  labels:\n    __metrics_path__: /other\n`);
  await eventually(() => names().includes('from_c'), 10_000, 'target c from the YAML file');
  t.equal(c.requests[0]?.url, '/other', '__metrics_path__');

  fs.rmSync(json);
  const targets = async () => Number(/thermocline_prometheus_scrape_targets\{component_id="app"\} (\d+)/.exec(await runtime.metrics.text())?.[1]);
  await eventually(async () => (await targets()) === 1, 10_000, 'one target left');
  const bAfter = b.requests.length;
  const cBefore = c.requests.length;
  await eventually(() => c.requests.length >= cBefore + 3, 10_000, 'more scrapes of c');
  t.ok(b.requests.length <= bAfter + 1, 'a deleted file takes its targets with it');
});

t.test('file_sd: the refresh interval picks up changes the watcher did not report', async (t) => {
  const dir = tempDir(t);
  const a = await serve(t, (_req, res) => res.end('polled 1\n'));
  const sub = path.join(dir, 'later');
  await startPipeline(
    t,
    `
[sources.app]
type = "prometheus_scrape"
interval = "200ms"
timeout = "150ms"
file_sd = { files = [${JSON.stringify(path.join(sub, 'targets.json'))}], refresh_interval = "300ms" }

[sinks.rec_poll]
type = "memory_recorder"
inputs = ["app"]
`,
  );
  // The directory did not exist when watching started: only the periodic refresh can see the file.
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, 'targets.json'), JSON.stringify([{ targets: [`127.0.0.1:${a.port}`] }]));
  await eventually(() => metrics(received('rec_poll')).some((e) => e.name === 'polled'), 10_000, 'the target');
  t.pass('found by the periodic refresh');
});
