import type { PluginIssue } from '../../../index.js';
import type { PrometheusScrapeConfig } from './config.js';
import { patternProblem } from './file-sd.js';
import { endpointProblems } from './targets.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The checks beyond the schema, each with the key path it concerns. Pure, no I/O, so that
 * `thermocline validate` can run them offline.
 */
export function validateConfig(config: PrometheusScrapeConfig): PluginIssue[] {
  const issues: PluginIssue[] = [];
  if (config.endpoints.length === 0 && config.file_sd === undefined) {
    issues.push({ path: ['endpoints'], message: 'give at least one target: `endpoints = ["http://host:port/metrics"]` or a `file_sd` table' });
  }
  for (const p of endpointProblems(config)) issues.push({ path: ['endpoints', p.index], message: p.message });
  const checkLabels = (labels: Record<string, string>, path: Array<string | number>) => {
    for (const name of Object.keys(labels)) {
      if (!LABEL_NAME.test(name))
        issues.push({ path: [...path, name], message: 'is not a Prometheus label name: use letters, digits and "_", not starting with a digit' });
    }
  };
  checkLabels(config.labels, ['labels']);
  config.endpoints.forEach((e, i) => typeof e === 'string' || checkLabels(e.labels, ['endpoints', i, 'labels']));
  config.file_sd?.files.forEach((f, i) => {
    const problem = patternProblem(f);
    if (problem) issues.push({ path: ['file_sd', 'files', i], message: problem });
  });
  if (config.interval <= 0) issues.push({ path: ['interval'], message: 'must be longer than 0s' });
  if (config.timeout <= 0) issues.push({ path: ['timeout'], message: 'must be longer than 0s' });
  if (config.timeout >= config.interval) {
    issues.push({
      path: ['timeout'],
      message: `must be below interval (${config.timeout / 1000}s >= ${config.interval / 1000}s), so that scrapes of a target never overlap`,
    });
  }
  const auth = [
    config.bearer_token !== undefined && 'bearer_token',
    config.bearer_token_file !== undefined && 'bearer_token_file',
    config.basic_auth !== undefined && 'basic_auth',
  ].filter(Boolean);
  if (auth.length > 1) issues.push({ path: [auth[1] as string], message: `set only one of ${auth.join(', ')}` });
  if (config.basic_auth?.password !== undefined && config.basic_auth.password_file !== undefined) {
    issues.push({ path: ['basic_auth', 'password_file'], message: 'set either password or password_file, not both' });
  }
  if ((config.tls?.cert_file === undefined) !== (config.tls?.key_file === undefined)) {
    issues.push({
      path: ['tls', config.tls?.cert_file === undefined ? 'cert_file' : 'key_file'],
      message: 'a client certificate needs both cert_file and key_file',
    });
  }
  return issues;
}
