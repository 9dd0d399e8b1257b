/**
 * The OpenTelemetry project's generated protobufjs code for OTLP (encode and decode), which the
 * tests use as the reference encoder. Kept apart from the runtime harness so that decoder unit
 * tests load nothing else.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const otlp = (require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as any).opentelemetry.proto;
