import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig, type LoadedConfig } from '../core/config/load.js';
import type { AnyPlugin } from '../core/plugin/types.js';
import { Runtime } from '../core/runtime/runtime.js';
import { builtinRegistry } from '../plugins/registry.js';
import { memoryRecorder } from './memory-sink.js';

export interface TestContext {
  teardown(fn: () => unknown): void;
}

/** A fresh temporary directory, removed at teardown. */
export function tempDir(t: TestContext, prefix = 'thermocline-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Validate a TOML text with the built-in plugins, the memory recorder, and any `extra` plugins. */
export async function loadTestConfig(toml: string, options: { dataDir: string; extra?: AnyPlugin[]; env?: NodeJS.ProcessEnv }): Promise<LoadedConfig> {
  const registry = builtinRegistry();
  registry.register(memoryRecorder);
  for (const p of options.extra ?? []) registry.register(p);
  const text = `data_dir = ${JSON.stringify(options.dataDir)}\n[api]\nenabled = false\n${toml}`;
  return parseConfig(text, { registry, env: options.env ?? {} });
}

/** Collected log lines of a test runtime (JSON objects), for asserting on what was logged. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const l of chunk.toString('utf8').split('\n')) if (l) this.lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  logger(level = 'info') {
    return pino({ level }, this.stream);
  }
  messages(): string[] {
    return this.lines.map((l) => String(l.msg));
  }
}

/**
 * Start a real runtime in this process on `toml` (without `data_dir`/`[api]`, which are set
 * here), stopped at teardown.
 */
export async function startPipeline(t: TestContext, toml: string, options: { dataDir?: string; extra?: AnyPlugin[]; env?: NodeJS.ProcessEnv } = {}) {
  const dataDir = options.dataDir ?? tempDir(t);
  const config = await loadTestConfig(toml, { dataDir, extra: options.extra, env: options.env });
  const logs = new LogCapture();
  const runtime = await Runtime.start(config, { logger: logs.logger(process.env.THERMOCLINE_TEST_LOG ?? 'info') });
  t.teardown(() => runtime.stop());
  return { runtime, dataDir, config, logs };
}

/** Poll `check` until it returns true or the timeout passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
