// The example plugin's own tests, as a plugin published to npm would write them: the conformance
// kit and the helpers come from `thermocline/testing`. Run with `npx tap index.test.mjs`;
// test/examples.test.ts runs this file.
import t from 'tap';
import { eventually, logs, manualSource, manualSources, received, runConformance, startPipeline } from 'thermocline/testing';
import plugin from './index.mjs';

await runConformance(t, plugin, { folder: import.meta.dirname });

t.test('masks addresses in a pipeline', async (t) => {
  await startPipeline(
    t,
    `
[sources.m]
type = "manual"
[transforms.privacy]
type = "redact_emails"
inputs = ["m"]
[sinks.rec]
type = "memory_recorder"
inputs = ["privacy"]
`,
    { extra: [manualSource, plugin] },
  );
  const [log] = logs(0, 1);
  await manualSources.get('m').emit([{ ...log, message: 'from bob@example.com', labels: { user: 'alice@corp.io' } }]);
  await eventually(() => received('rec').length === 1);
  t.equal(received('rec')[0].message, 'from <redacted-email>');
  t.same(received('rec')[0].labels, { user: '<redacted-email>' });
});
