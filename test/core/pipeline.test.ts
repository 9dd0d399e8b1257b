import t from 'tap';
import { eventually, startPipeline } from '../helpers/pipeline.js';
import { received, recorded } from '../helpers/memory-sink.js';

t.test('generator events reach a sink in order, each exactly once', async (t) => {
  await startPipeline(
    t,
    `
[sources.gen]
type = "generator"
rate = 0
count = 5000
batch_size = 100

[sinks.rec]
type = "memory_recorder"
inputs = ["gen"]
`,
  );
  await eventually(() => received('rec').length >= 5000, 20_000, '5000 events');
  const seqs = received('rec').map((e) => Number(e.kind === 'span' ? e.attr.seq : e.kind === 'event' ? -1 : e.labels.seq));
  t.same(seqs, Array.from({ length: 5000 }, (_, i) => i));
  const writes = recorded.get('rec')?.writes ?? [];
  t.ok(writes.length > 0);
  t.ok(writes.every((w, i) => i === 0 || w.delivery.first > (writes[i - 1]?.delivery.last ?? 0)), 'deliveries cover increasing, disjoint ranges');
});
