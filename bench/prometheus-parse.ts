/**
 * Parse rate of the prometheus_scrape source: a large exposition (node-exporter-like
 * counters and gauges, histograms with 10 buckets, summaries, label values with escapes), parsed
 * into metric events with target labels, beside the baseline of only splitting the same text into
 * lines. Goal: >= 2,000,000 samples/s, so one agent can scrape 1,000 node-exporter-sized targets
 * every 15 s with headroom.
 *
 *   npx tsx bench/prometheus-parse.ts [series=100000]
 */
import { LabelMerger } from '../src/plugins/sources/prometheus_scrape/labels.js';
import { EventMapper } from '../src/plugins/sources/prometheus_scrape/mapper.js';
import { parseExposition, type ExpositionFormat, type SampleSink } from '../src/plugins/sources/prometheus_scrape/parser.js';

const SERIES = Number(process.argv[2] ?? 100_000);
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
const ROUNDS = 11;

/** About `series` series: 40% counters, 30% gauges, 25% histograms, 5% summaries. */
function exposition(series: number, format: ExpositionFormat): { text: string; samples: number } {
  const om = format === 'openmetrics_text';
  const out: string[] = [];
  let samples = 0;
  const counters = Math.round(series * 0.4);
  out.push('# HELP node_network_receive_bytes_total Network device statistic receive_bytes.');
  out.push(om ? '# TYPE node_network_receive_bytes counter' : '# TYPE node_network_receive_bytes_total counter');
  for (let i = 0; i < counters; i++) {
    out.push(`node_network_receive_bytes_total{device="eth${i % 64}",host="node-${i >> 6}",mode="rx"} ${i * 1024 + 17}`);
    samples++;
  }
  const gauges = Math.round(series * 0.3);
  out.push('# HELP node_filesystem_avail_bytes Filesystem space available.');
  out.push('# TYPE node_filesystem_avail_bytes gauge');
  for (let i = 0; i < gauges; i++) {
    out.push(`node_filesystem_avail_bytes{device="/dev/sd${i % 26}",fstype="ext4",mountpoint="/mnt/\\"vol\\"\\\\${i}"} ${(i * 1.37).toFixed(3)}e+06`);
    samples++;
  }
  const histograms = Math.round(series * 0.25);
  out.push('# HELP http_request_duration_seconds Request latency.');
  out.push('# TYPE http_request_duration_seconds histogram');
  for (let i = 0; i < histograms; i++) {
    const labels = `handler="/api/v1/item/${i % 500}",method="${i % 2 ? 'GET' : 'POST'}",code="${200 + (i % 5)}"`;
    let c = 0;
    for (const le of BUCKETS) {
      c += i % 7;
      out.push(`http_request_duration_seconds_bucket{${labels},le="${le}"} ${c}`);
    }
    out.push(`http_request_duration_seconds_sum{${labels}} ${(c * 0.042).toFixed(4)}`);
    out.push(`http_request_duration_seconds_count{${labels}} ${c}`);
    samples += BUCKETS.length + 2;
  }
  const summaries = Math.round(series * 0.05);
  out.push('# TYPE rpc_duration_seconds summary');
  for (let i = 0; i < summaries; i++) {
    for (const q of ['0.5', '0.9', '0.99']) out.push(`rpc_duration_seconds{service="svc-${i}",quantile="${q}"} ${q}`);
    out.push(`rpc_duration_seconds_sum{service="svc-${i}"} 17.5`);
    out.push(`rpc_duration_seconds_count{service="svc-${i}"} 42`);
    samples += 5;
  }
  if (om) out.push('# EOF');
  return { text: Buffer.from(`${out.join('\n')}\n`).toString('utf8'), samples };
}

function rate(samples: number, ms: number): string {
  return `${((samples / ms) * 1000).toLocaleString('en-US', { maximumFractionDigits: 0 })} samples/s`;
}

/**
 * Median CPU time (user + system of this process) of `fn` over ROUNDS runs, in ms. CPU time rather
 * than wall time: on a shared, loaded machine wall time mostly measures waiting for a core.
 */
function time(fn: () => number): number {
  const runs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const n = fn();
    const c = process.cpuUsage(c0);
    if (n < 0) console.log('unreachable');
    runs.push((c.user + c.system) / 1000);
  }
  runs.sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)] as number;
}

const noop: SampleSink = { sample: () => undefined };
const mapper = () =>
  new EventMapper({
    labels: new LabelMerger({ instance: '10.0.0.1:9100', job: 'node' }, false),
    scrapeTimeUs: Date.now() * 1000,
    honorTimestamps: true,
    dropCreated: false,
  });

function intoEvents(text: string, format: ExpositionFormat): number {
  const m = mapper();
  const result = parseExposition(text, format, m);
  if (result.malformed > 0) throw new Error(`unexpected parse errors: ${JSON.stringify(result.errors.slice(0, 3))}`);
  return m.finish().length;
}

const line = (label: string, ms: number, samples: number, baselineMs?: number) =>
  console.log(
    `  ${label.padEnd(28)} ${ms.toFixed(1).padStart(7)} ms  ${rate(samples, ms).padStart(20)}${baselineMs ? `  (${(ms / baselineMs).toFixed(2)}x the baseline's time)` : ''}`,
  );

console.log(`CPU time of this process (median of ${ROUNDS} runs); on a loaded machine wall time mostly measures waiting for a core.`);
for (const format of ['prometheus_text', 'openmetrics_text'] as const) {
  const { text, samples } = exposition(SERIES, format);
  const events = intoEvents(text, format);
  console.log(
    `\n${format}: ${samples.toLocaleString('en-US')} samples, ${events.toLocaleString('en-US')} events, ${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB`,
  );
  const baselineMs = time(() => text.split('\n').length);
  line('baseline: split into lines', baselineMs, samples);
  const parseMs = time(() => parseExposition(text, format, noop).samples);
  line('parse only (no-op sink)', parseMs, samples, baselineMs);
  const eventsMs = time(() => intoEvents(text, format));
  line('parse into events', eventsMs, samples, baselineMs);
  const verdict = (ms: number) => ((samples / ms) * 1000 >= 2_000_000 ? 'meets' : 'misses');
  console.log(
    `  rate ratio to the baseline: parse ${(baselineMs / parseMs).toFixed(2)}, events ${(baselineMs / eventsMs).toFixed(2)}; the 2,000,000 samples/s goal: parse ${verdict(parseMs)}, events ${verdict(eventsMs)}`,
  );
}
