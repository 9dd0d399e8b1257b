import type { PluginIssue, TelemetryEvent } from '../../../index.js';
import { NATS_ERRORS } from './errors.js';
import type { NatsSinkConfig } from './config.js';

const PLACEHOLDER = /\{([a-z_]+)\}/g;
export const FIELDS = ['kind', 'service'] as const;
type Field = (typeof FIELDS)[number];

/** Placeholders of a subject template. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** Problems of a template: unknown placeholders, unbounded ones (paths relative to the sink). */
export function subjectIssues(config: NatsSinkConfig): PluginIssue[] {
  const issues: PluginIssue[] = [];
  for (const p of placeholders(config.subject)) {
    if (!(FIELDS as readonly string[]).includes(p)) issues.push({ path: ['subject'], message: `unknown placeholder {${p}}: use ${FIELDS.map((f) => `{${f}}`).join(' or ')}` });
    else if (p !== 'kind' && config.subject_values[p as Exclude<Field, 'kind'>] === undefined) {
      issues.push({
        path: ['subject_values', p],
        message: `${NATS_ERRORS.TC_NATS_SUBJECT_UNBOUNDED}: {${p}} makes one subject per value; list its allowed values in subject_values.${p} (others publish under "_other")`,
      });
    }
  }
  if (/(^|\.)\.|\.$|^\./.test(config.subject.replace(PLACEHOLDER, 'x'))) issues.push({ path: ['subject'], message: 'empty subject token' });
  return issues;
}

/** The stream's subjects when not configured: each placeholder as the `*` wildcard. */
export function defaultStreamSubjects(template: string): string[] {
  return [template.replace(PLACEHOLDER, '*')];
}

function serviceOf(e: TelemetryEvent): string {
  return e.kind === 'metric' ? (e.labels.service ?? '') : e.service;
}

/** Maps each event to its subject, with the bounded value sets applied. */
export function subjectResolver(config: NatsSinkConfig): (e: TelemetryEvent) => string {
  const template = config.subject;
  const fields = placeholders(template);
  if (fields.length === 0) return () => template;
  const allowed = new Set(config.subject_values.service ?? []);
  return (e) =>
    template.replace(PLACEHOLDER, (_m, f: string) => {
      if (f === 'kind') return e.kind;
      const v = serviceOf(e);
      return v === '' ? '_none' : allowed.has(v) ? v : '_other';
    });
}
