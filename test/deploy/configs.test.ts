/**
 * The agent configs that the container image, the compose proof of concept and the Kubernetes
 * manifests use all live in deployments/config/ (Kubernetes builds its ConfigMaps from them with
 * kustomize's configMapGenerator). Each must pass `thermocline validate` with the environment
 * those deployments give it, and the compose file must pass `docker-compose config`.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import YAML from 'yaml';
import { repoRoot, runCli } from '../helpers/agent-process.js';

const run = promisify(execFile);
const configDir = path.join(repoRoot, 'deployments/config');
const composeFile = path.join(repoRoot, 'deployments/docker-compose/poc.yaml');
const ENV = {
  PG_URL: 'postgres://thermocline:secret@timescaledb:5432/telemetry',
  CH_URL: 'http://thermocline:secret@clickhouse:8123/telemetry',
  OTLP_TOKEN: 'token',
  GATEWAY_URL: 'http://gateway:4318',
  NODE_NAME: 'node-1',
};

t.test('every deployment config passes thermocline validate', async (t) => {
  const files = (await readdir(configDir)).filter((f) => f.endsWith('.toml'));
  t.same(files.sort(), ['edge.toml', 'gateway.toml']);
  for (const file of files) {
    const result = await runCli(['validate', '-c', path.join(configDir, file)], { env: ENV });
    t.equal(result.code, 0, `${file}: ${result.stdout}${result.stderr}`);
  }
  const clustered = await runCli(['validate', '-c', path.join(configDir, 'gateway.toml')], { env: { ...ENV, CH_CLUSTER: 'thermocline' } });
  t.equal(clustered.code, 0, `gateway.toml with CH_CLUSTER: ${clustered.stderr}`);
});

t.test('the compose file mounts files that exist and runs what the proof of concept needs', async (t) => {
  const compose = YAML.parse(await readFile(composeFile, 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; volumes?: string[]; environment?: Record<string, string> }>;
  };
  for (const name of ['timescaledb', 'clickhouse', 'minio', 'grafana', 'gateway', 'edge', 'node-exporter', 'loadgen'])
    t.ok(compose.services[name], `service ${name}`);
  t.match(compose.services.timescaledb?.image, /^timescale\/timescaledb:/, 'the official TimescaleDB image');
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0] as string;
      if (!source.startsWith('.')) continue;
      await t.resolves(stat(path.resolve(path.dirname(composeFile), source)), `${name}: ${source} exists`);
    }
  }
  t.equal(compose.services.clickhouse?.environment?.THERMOCLINE_S3_ENDPOINT?.startsWith('http://minio:9000/'), true, 'the cold disk is MinIO');
});

const hasCompose = await run('sh', ['-c', 'command -v docker-compose']).then(
  () => true,
  () => false,
);
// .ci/run installs Debian's docker-compose, so CI always runs this check.
const composeSkip = hasCompose ? false : 'docker-compose is not installed on this machine (apt-get install docker-compose; .ci/run does)';

t.test('docker-compose config accepts the compose file', { skip: composeSkip }, async (t) => {
  const { stdout } = await run('docker-compose', ['-f', composeFile, 'config'], { cwd: repoRoot });
  const rendered = YAML.parse(stdout) as { services: Record<string, unknown> };
  t.ok(rendered.services.gateway, 'rendered with the gateway service');
});
