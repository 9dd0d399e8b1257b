/**
 * `[memory] heap_growth_percent` (docs/operations.md#resident-memory): the agent fixes how far
 * V8's heap grows past what a full collection kept, at start and on reload. Under
 * `--trace-gc-verbose` V8 prints, after each full collection, the factor it would choose itself
 * and then the one it used; a memory limit far below what the agent holds makes the memory guard
 * force a full collection every few seconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exited, spawnAgent, stoppedGracefully } from '../helpers/agent-process.js';
import { eventually, tempDir } from '../helpers/pipeline.js';

const config = (dir: string, memory: string) =>
  `data_dir = "${dir}/data"\n[api]\nenabled = false\n[memory]\nlimit = "1MiB"\n${memory}\n[sources.g]\ntype = "generator"\nrate = 50\n[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\n`;

/** Each full collection's factors, in order: the one V8 chose itself and the one it used. */
const collections = (output: string) =>
  [...output.matchAll(/\[HeapController\] factor (\d+\.\d) based on[^\n]*\n[^\n]*\[HeapController\] Limit: [^\n]*\((\d+\.\d)\)/g)].map((m) => ({
    chosen: m[1],
    used: m[2],
  }));

t.test('the heap grows by 100 % by default, by the configured factor after a reload, and as V8 chooses with 0', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'agent.toml');
  fs.writeFileSync(file, config(dir, ''));
  const agent = spawnAgent(file, { nodeArgs: ['--trace-gc-verbose'] });
  t.teardown(() => agent.kill('SIGKILL'));
  const after = (n: number) => collections(agent.output()).slice(n);
  await eventually(() => after(0).some((c) => c.used === '2.0'), 30_000, 'a full collection that grew the heap by 2.0');

  const reload = async (memory: string) => {
    fs.writeFileSync(file, config(dir, memory));
    const reloads = agent.output().split('configuration reloaded').length;
    agent.kill('SIGHUP');
    await eventually(() => agent.output().split('configuration reloaded').length > reloads, 10_000, 'reload');
    return collections(agent.output()).length;
  };
  let since = await reload('heap_growth_percent = 30');
  await eventually(() => after(since).some((c) => c.used === '1.3'), 30_000, 'a full collection that grew the heap by 1.3');
  since = await reload('heap_growth_percent = 0');
  // V8's own choice at this idle rate is its least factor, 1.1; whatever it is, it is the one used.
  await eventually(() => after(since).some((c) => c.used === c.chosen && c.used !== '1.3'), 30_000, 'a full collection that grew the heap as V8 chose');

  agent.kill('SIGTERM');
  t.ok(stoppedGracefully(await exited(agent), agent.output()));
});
