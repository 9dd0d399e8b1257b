/**
 * The Kubernetes manifests (deployments/kustomization.yaml and deployments/kubernetes/) validated
 * against the Kubernetes API's OpenAPI schemas with kubernetes-models (no cluster and no kubectl
 * here), the ConfigMaps built the way kustomize's configMapGenerator builds them, and the links
 * between objects checked: every ConfigMap and Secret a pod names exists, and every variable an
 * agent config needs without a default is set in the pod's environment.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { DaemonSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { repoRoot } from '../helpers/agent-process.js';

const deployments = path.join(repoRoot, 'deployments');
interface Kustomization {
  resources: string[];
  namespace: string;
  configMapGenerator: { name: string; files: string[] }[];
}
const kustomization = YAML.parse(await readFile(path.join(deployments, 'kustomization.yaml'), 'utf8')) as Kustomization;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each model class takes its own typed spec; the YAML is checked by validate()
type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
}

async function objects(): Promise<Obj[]> {
  const out: Obj[] = [];
  for (const resource of kustomization.resources) {
    const docs = YAML.parseAllDocuments(await readFile(path.join(deployments, resource), 'utf8'));
    out.push(...docs.map((d) => d.toJSON() as Obj));
  }
  for (const gen of kustomization.configMapGenerator) {
    const data: Record<string, string> = {};
    for (const entry of gen.files) {
      const [key, file] = entry.split('=') as [string, string];
      data[key] = await readFile(path.join(deployments, file), 'utf8');
    }
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data } as Obj);
  }
  return out;
}

interface Container {
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { secretRef?: { name: string } }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { configMap?: { name: string } }[];
}

t.test('every object validates against the Kubernetes API schemas', async (t) => {
  const all = await objects();
  t.same(all.map((o) => o.kind).sort(), [
    'ConfigMap',
    'ConfigMap',
    'DaemonSet',
    'HorizontalPodAutoscaler',
    'Namespace',
    'PodDisruptionBudget',
    'Secret',
    'Secret',
    'Service',
    'Service',
    'StatefulSet',
  ]);
  for (const o of all) {
    const model = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!model) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
    t.doesNotThrow(() => new model(o).validate(), `${o.kind} ${o.metadata.name}`);
  }
  // A broken manifest is caught (the check is not vacuous).
  t.throws(() =>
    new StatefulSet({
      metadata: { name: 'x' },
      spec: { selector: {}, serviceName: 'x', template: { spec: { containers: [{ image: 'x' }] } } },
    } as never).validate(),
  );
});

/** The pod template of a StatefulSet or DaemonSet. */
const podOf = (o: { spec?: unknown }): PodSpec => (o.spec as { template: { spec: PodSpec } }).template.spec;

t.test('pods reference existing ConfigMaps and Secrets, and their configs get every variable they need', async (t) => {
  const all = await objects();
  const secrets = new Map(all.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, Object.keys(o.stringData ?? {})]));
  const configMaps = new Map(all.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, (o as unknown as { data: Record<string, string> }).data]));
  for (const o of all.filter((x) => x.kind === 'StatefulSet' || x.kind === 'DaemonSet')) {
    const pod = podOf(o);
    const container = pod.containers[0] as Container;
    const env = new Set<string>(['THERMOCLINE_DATA_DIR', 'THERMOCLINE_CONFIG', 'THERMOCLINE_HEALTH_URL']); // the image's ENV
    for (const e of container.env ?? []) {
      env.add(e.name);
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) t.ok(secrets.get(ref.name)?.includes(ref.key), `${o.metadata.name}: secret ${ref.name}/${ref.key} exists`);
    }
    for (const from of container.envFrom ?? []) {
      const keys = from.secretRef ? secrets.get(from.secretRef.name) : undefined;
      t.ok(keys, `${o.metadata.name}: secret ${from.secretRef?.name} exists`);
      for (const k of keys ?? []) env.add(k);
    }
    const mapName = pod.volumes?.find((v) => v.configMap)?.configMap?.name as string;
    const config = configMaps.get(mapName)?.['thermocline.toml'];
    t.ok(config, `${o.metadata.name}: ConfigMap ${mapName} holds thermocline.toml`);
    const required = [...(config ?? '').matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1] as string);
    for (const name of required) t.ok(env.has(name), `${o.metadata.name}: ${name} is set`);
  }
});

t.test("the node agents run with V8's young generation halved; the gateways with node's default", async (t) => {
  const all = await objects();
  const nodeOptions = (kind: string) =>
    all.filter((o) => o.kind === kind).map((o) => (podOf(o).containers[0] as Container).env?.find((e) => e.name === 'NODE_OPTIONS')?.value);
  t.same(nodeOptions('DaemonSet'), ['--max-semi-space-size=8'], 'less resident memory for the same CPU (docs/operations.md#resident-memory)');
  t.same(nodeOptions('StatefulSet'), [undefined], 'sized for throughput');
});
