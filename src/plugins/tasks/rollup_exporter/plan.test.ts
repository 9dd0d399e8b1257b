import t from 'tap';
import { ExportState } from './state.js';
import type { Json } from '../../../index.js';
import { MAX_SPAN_MINUTES, cutChunks, cycleStart, nextSpanMinutes, progress } from './plan.js';

const M = 60_000;
const T0 = Date.UTC(2026, 0, 1);

t.test('chunks: whole buckets, at most max rows, covering the whole window', async (t) => {
  const counts = [
    { bucket: T0, rows: 40 },
    { bucket: T0 + M, rows: 40 },
    { bucket: T0 + 3 * M, rows: 30 },
    { bucket: T0 + 4 * M, rows: 250 },
    { bucket: T0 + 5 * M, rows: 10 },
  ];
  t.same(cutChunks(counts, T0, T0 + 10 * M, 100), [
    { from: T0, to: T0 + 3 * M, rows: 80 },
    { from: T0 + 3 * M, to: T0 + 4 * M, rows: 30 },
    { from: T0 + 4 * M, to: T0 + 5 * M, rows: 250 },
    { from: T0 + 5 * M, to: T0 + 10 * M, rows: 10 },
  ]);
  t.same(cutChunks([], T0, T0 + 5 * M, 100), [{ from: T0, to: T0 + 5 * M, rows: 0 }], 'an empty window is one empty chunk');
  t.same(cutChunks(counts, T0, T0 + 10 * M, 1000), [{ from: T0, to: T0 + 10 * M, rows: 370 }], 'everything fits');
});

t.test('window length adapts to the density, within bounds', async (t) => {
  t.equal(nextSpanMinutes(60, 600_000, 60, 100_000), 10, '10k rows a minute: 10 minutes a window');
  t.equal(nextSpanMinutes(60, 100, 60, 100_000), 240, 'sparse: grows at most fourfold');
  t.equal(nextSpanMinutes(1000, 100, 60, 100_000), MAX_SPAN_MINUTES, 'never beyond a day');
  t.equal(nextSpanMinutes(60, 0, 60, 100_000), 240, 'empty: grows');
  t.equal(nextSpanMinutes(60, 5_000_000, 1, 100_000), 1, 'never below a minute');
});

t.test('a cycle starts lateness (or the refresh reach, if longer) before the watermark', async (t) => {
  t.equal(cycleStart(T0 + 60 * M, 5 * M, 0), T0 + 55 * M);
  t.equal(cycleStart(T0 + 60 * M, 5 * M, 121), T0 + 60 * M - 121 * M, 'the TimescaleDB policy reaches further');
  t.equal(cycleStart(T0 + 60 * M, 90_000, 0), T0 + 58 * M, 'lateness rounds up to whole minutes');
  t.equal(cycleStart(T0 + 60 * M, 0, 0), T0 + 60 * M);
});

t.test('progress and time left', async (t) => {
  t.same(progress(0, 100, 25, 1000), { percent: 25, etaSecs: 3 });
  t.same(progress(0, 100, 0, 1000), { percent: 0, etaSecs: undefined });
  t.same(progress(0, 100, 100, 1000), { percent: 100, etaSecs: 0 });
});

t.test('state: the watermark and the version only move forward', async (t) => {
  const store = new Map<string, Json>();
  const state = new ExportState({ get: (k) => store.get(k), set: (k, v) => void store.set(k, v), delete: (k) => void store.delete(k) });
  t.equal(state.watermark(), undefined);
  state.advanceWatermark(T0 + 10 * M);
  t.equal(store.get('watermark'), '2026-01-01T00:10:00.000Z', 'stored as readable ISO text');
  state.advanceWatermark(T0 + 5 * M);
  t.equal(state.watermark(), T0 + 10 * M, 'never moves back');
  const v1 = state.nextVersion(T0);
  t.equal(v1, T0 * 1000, 'the export time in microseconds');
  t.equal(state.nextVersion(T0 - 3_600_000), v1 + 1, 'a clock that stepped back still gets a higher version');
  t.equal(store.get('version'), v1 + 1, 'committed when handed out');
  store.set('watermark', 'garbage');
  t.equal(state.watermark(), undefined, 'an unreadable watermark reads as none: the export starts over, which is safe');
});
