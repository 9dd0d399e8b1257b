/**
 * Garbage-collector figures for a bench run, taken in the process that does the work:
 *
 * - `withGcFigures`: V8's GC profiler (`v8.GCProfiler`) records every collection with the heap
 *   before and after it. The pause is the sum of the collections' main-thread cost; the bytes
 *   allocated are what the heap grew by between collections (before one, minus after the previous),
 *   plus the growth after the last one. The same numbers `node --trace-gc-nvp` prints as `pause=`
 *   and `allocated=`, without parsing its output.
 * - `withCpuProfile`: a sampling CPU profile through the inspector, as `node --cpu-prof` writes it,
 *   reduced to the share of the `(garbage collector)` node and the functions with the most self time.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import v8 from 'node:v8';

export interface GcFigures {
  scavenges: number;
  /** Mark-sweep-compact and incremental marking steps. */
  others: number;
  pauseMs: number;
  allocatedBytes: number;
  wallMs: number;
}

interface GcStat {
  gcType: string;
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

export async function withGcFigures<T>(run: () => Promise<T>): Promise<{ result: T; gc: GcFigures }> {
  const profiler = new v8.GCProfiler();
  const usedAtStart = v8.getHeapStatistics().used_heap_size;
  const started = performance.now();
  profiler.start();
  const result = await run();
  const usedAtEnd = v8.getHeapStatistics().used_heap_size;
  const stats = (profiler.stop()?.statistics ?? []) as GcStat[];
  const wallMs = performance.now() - started;
  let allocatedBytes = 0;
  let last = usedAtStart;
  let pauseUs = 0;
  let scavenges = 0;
  for (const s of stats) {
    allocatedBytes += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - last);
    last = s.afterGC.heapStatistics.usedHeapSize;
    pauseUs += s.cost;
    if (s.gcType === 'Scavenge') scavenges++;
  }
  allocatedBytes += Math.max(0, usedAtEnd - last);
  return { result, gc: { scavenges, others: stats.length - scavenges, pauseMs: pauseUs / 1000, allocatedBytes, wallMs } };
}

/** `GC 12 scavenges + 1 other, 85 ms paused (6.1 % of wall), 1.2 GB allocated (700 B/item, 880 MB/s)`. */
export function formatGc(gc: GcFigures, items: number, item = 'line'): string {
  return `GC ${gc.scavenges} scavenges + ${gc.others} other, ${gc.pauseMs.toFixed(0)} ms paused (${((gc.pauseMs / gc.wallMs) * 100).toFixed(1)} % of wall), ${(gc.allocatedBytes / 1e9).toFixed(2)} GB allocated (${Math.round(gc.allocatedBytes / items)} B/${item}, ${Math.round(gc.allocatedBytes / 1e6 / (gc.wallMs / 1000))} MB/s)`;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfileSummary {
  /** Share of the samples in the `(garbage collector)` node. */
  gcShare: number;
  /** Functions by self time: `name file:line` and their share of the samples. */
  top: Array<{ name: string; share: number }>;
}

/** Runs `run` under the sampling profiler; writes the profile to `dir` when given (opens in Chrome DevTools). */
export async function withCpuProfile<T>(run: () => Promise<T>, dir?: string, name = 'bench'): Promise<{ result: T; profile: CpuProfileSummary }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const result = await run();
  const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[] } };
  session.disconnect();
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)?.callFrame;
    const key = f ? `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim() : '?';
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  const top = [...self].sort((a, b) => b[1] - a[1]).map(([n, c]) => ({ name: n, share: c / total }));
  return { result, profile: { gcShare: (self.get('(garbage collector)') ?? 0) / total, top } };
}

export function formatProfile(p: CpuProfileSummary, count = 8): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return `(garbage collector) ${pct(p.gcShare)}; most self time: ${p.top
    .slice(0, count)
    .map((t) => `${t.name} ${pct(t.share)}`)
    .join(', ')}`;
}
