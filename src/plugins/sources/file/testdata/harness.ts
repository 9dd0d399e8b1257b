import fs from 'node:fs';
import type { LogEvent } from '../../../../index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import type { Runtime } from '../../../../core/runtime/runtime.js';
import { received, eventually, startPipeline, type TestContext } from '../../../../testing/index.js';

/** A pipeline `file` (id `f`) → `memory_recorder` (id `sink`), with extra source options as TOML lines. */
export function pipelineToml(sink: string, include: string[], options = ''): string {
  return `
[sources.f]
type = "file"
include = ${JSON.stringify(include)}
${options.includes('glob_interval_secs') ? '' : 'glob_interval_secs = 0.2'}
${options}

[sinks.${sink}]
type = "memory_recorder"
inputs = ["f"]
`;
}

export async function startFileSource(t: TestContext, sink: string, include: string[], options = '', dataDir?: string) {
  return startPipeline(t, pipelineToml(sink, include, options), dataDir ? { dataDir } : {});
}

export const logs = (sink: string): LogEvent[] => received(sink).filter((e): e is LogEvent => e.kind === 'log');
export const messages = (sink: string): string[] => logs(sink).map((e) => e.message);

export async function waitForMessages(sink: string, n: number, timeoutMs = 10_000): Promise<string[]> {
  await eventually(() => messages(sink).length >= n, timeoutMs, `${n} messages at ${sink} (have ${messages(sink).length})`);
  return messages(sink);
}

/**
 * Resolves once the source `f` finished its first scan: it writes its checkpoint right after, so
 * `read_from = "end"` has been applied to what was there.
 */
export async function sourceReady(runtime: Runtime): Promise<void> {
  await eventually(() => runtime.store.getCheckpoint('f') !== undefined, 10_000, 'the first scan of the file source');
}

/** Value of a plugin metric of the source `f` (0 when it was never set). */
export async function metric(runtime: Runtime, name: string): Promise<number> {
  const text = await runtime.metrics.text();
  const m = new RegExp(`^${name}\\{component_id="f"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Appends numbered lines `prefix-<from>` … `prefix-<to - 1>`. */
/** Lines `prefix-from` … `prefix-(to-1)`; with `json`, each as the message of a JSON record (`lineOf`). */
export function appendLines(file: string, prefix: string, from: number, to: number, json = false): void {
  let s = '';
  for (let i = from; i < to; i++) s += `${lineOf(`${prefix}-${i}`, json)}\n`;
  fs.appendFileSync(file, s);
}

/** How `appendLines` writes a message. */
export const lineOf = (message: string, json = false): string => (json ? `{"message":${JSON.stringify(message)},"n":1}` : message);

export const range = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);

/** Give the source time to (not) do something: for asserting that nothing more arrives. */
export const settle = (ms = 600) => new Promise((r) => setTimeout(r, ms));
