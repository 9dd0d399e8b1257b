import t from 'tap';
import { eventually, startPipeline } from '../../../testing/index.js';

t.test('discards everything, counts it in the component metrics and logs running totals', async (t) => {
  const { runtime, logs } = await startPipeline(
    t,
    `[sources.g]\ntype = "generator"\nrate = 0\ncount = 500\nbatch_size = 50\n[sinks.void]\ntype = "blackhole"\ninputs = ["g"]\nprint_interval_secs = 0.05\n`,
  );
  const totals = () => logs.lines.filter((l) => l.msg === 'blackhole totals').map((l) => l.events as number);
  await eventually(() => totals().includes(500), 10_000, 'a totals line with all 500 events');
  t.ok(
    totals().every((n, i, all) => i === 0 || n >= (all[i - 1] as number)),
    'the totals never go down',
  );
  const metrics = await runtime.metrics.text();
  t.match(metrics, /thermocline_component_received_events_total\{component_id="void",component_kind="sink",component_type="blackhole"\} 500/);
  t.match(metrics, /thermocline_component_sent_events_total\{component_id="void",component_kind="sink",component_type="blackhole"\} 500/);
});

t.test('print_interval_secs = 0 logs nothing', async (t) => {
  const { runtime, logs } = await startPipeline(
    t,
    `[sources.g]\ntype = "generator"\nrate = 0\ncount = 100\n[sinks.void]\ntype = "blackhole"\ninputs = ["g"]\nprint_interval_secs = 0\n`,
  );
  await eventually(async () => /sent_events_total\{component_id="void"[^}]*\} 100/.test(await runtime.metrics.text()), 10_000, 'all delivered');
  t.notOk(logs.messages().includes('blackhole totals'));
});
