// A complete custom plugin: a transform that masks e-mail addresses in log messages and in the
// labels of logs and metrics and the attributes of spans. Load it with
//
//   [plugins]
//   load = ["./examples/plugins/redact-emails/index.mjs"]
//
//   [transforms.privacy]
//   type = "redact_emails"
//   inputs = ["app"]
//   replacement = "<email>"
//
// It imports the public API from the `thermocline` package, exactly as a plugin published to npm
// would, and builds its options schema with the `z` that package re-exports.
import { defineTransform, z } from 'thermocline';

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

export default defineTransform({
  type: 'redact_emails',
  summary: 'Masks e-mail addresses in log messages, labels and span attributes.',
  config: z.strictObject({
    replacement: z.string().default('<redacted-email>').describe('Text that replaces each address.'),
    fields: z
      .array(z.enum(['message', 'labels']))
      .min(1)
      .default(['message', 'labels'])
      .describe('Where to look: log messages, and/or label values (metric and log labels, span attributes).'),
  }),
  example: { replacement: '<email>' },
  create(config, ctx) {
    const masked = ctx.metrics.counter('masked_total', 'E-mail addresses masked.');
    const mask = (text) =>
      text.replace(EMAIL, () => {
        masked.inc();
        return config.replacement;
      });
    const maskLabels = (labels) => {
      for (const [k, v] of Object.entries(labels)) if (v.includes('@')) labels[k] = mask(v);
    };
    return {
      process(events) {
        for (const e of events) {
          if (e.kind === 'log' && config.fields.includes('message') && e.message.includes('@')) e.message = mask(e.message);
          if (!config.fields.includes('labels')) continue;
          if (e.kind === 'log' || e.kind === 'metric') maskLabels(e.labels);
          else if (e.kind === 'span') maskLabels(e.attr);
        }
        return events;
      },
    };
  },
});
