import type { DiscardPolicy, JetStreamManager, RetentionPolicy, StorageType, StreamConfig } from 'nats';
import { ThermoclineError } from '../../../index.js';
import { natsNanos } from './connection.js';
import { NATS_ERRORS } from './errors.js';
import type { NatsSinkConfig } from './config.js';
import { defaultStreamSubjects } from './subjects.js';

/** JetStream API error code for "stream not found" (the server's JSStreamNotFoundErr). */
const STREAM_NOT_FOUND = 10059;

export function wantedStream(config: NatsSinkConfig): StreamConfig {
  const s = config.stream;
  return {
    name: s.name,
    subjects: s.subjects ?? defaultStreamSubjects(config.subject),
    num_replicas: s.replicas,
    max_age: natsNanos(s.max_age),
    max_bytes: s.max_bytes,
    duplicate_window: natsNanos(s.duplicate_window),
    // The client's enum values, written out: importing its enums would load it (loadNats).
    storage: (s.storage === 'file' ? 'file' : 'memory') as StorageType,
    // A limits stream: messages stay until max_age/max_bytes, so a stream can be replayed and
    // several consumer groups (durables) can read it.
    retention: 'limits' as RetentionPolicy,
    // At max_bytes refuse new messages (they stay queued at the edges) rather than delete the
    // oldest, which gateways may not have read yet (docs/scaling.md, "Sizing the stream").
    discard: 'new' as DiscardPolicy,
  } as StreamConfig;
}

/** What differs between an existing stream and the wanted one, as "setting: have → want". */
export function streamDifferences(have: Partial<StreamConfig>, want: StreamConfig): string[] {
  const diffs: string[] = [];
  const missing = (want.subjects ?? []).filter((s) => !(have.subjects ?? []).includes(s));
  if (missing.length > 0) diffs.push(`subjects: ${JSON.stringify(have.subjects ?? [])} lacks ${JSON.stringify(missing)}`);
  const same = (key: 'num_replicas' | 'max_age' | 'max_bytes' | 'duplicate_window' | 'storage' | 'retention' | 'discard', show = (v: unknown) => String(v)) => {
    if (have[key] !== undefined && have[key] !== want[key]) diffs.push(`${key}: ${show(have[key])} → ${show(want[key])}`);
  };
  const secs = (v: unknown) => `${Number(v) / 1e9}s`;
  same('num_replicas');
  same('max_age', secs);
  same('max_bytes');
  same('duplicate_window', secs);
  same('storage');
  same('retention');
  same('discard');
  return diffs;
}

function apiCode(err: unknown): number | undefined {
  const e = err as { api_error?: { err_code?: number }; jsError?: () => { err_code?: number } | null };
  return e.api_error?.err_code ?? e.jsError?.()?.err_code ?? undefined;
}

/**
 * Create the stream, or check that the existing one has the configured settings. A stream that
 * differs is never changed behind the operator's back: its settings are theirs to migrate.
 */
export async function ensureStream(jsm: JetStreamManager, config: NatsSinkConfig): Promise<'created' | 'verified'> {
  const want = wantedStream(config);
  try {
    const info = await jsm.streams.info(want.name);
    const diffs = streamDifferences(info.config, want);
    if (diffs.length > 0) {
      throw new ThermoclineError(NATS_ERRORS.TC_NATS_STREAM_INCOMPATIBLE, `stream ${want.name} exists with other settings: ${diffs.join('; ')}`);
    }
    return 'verified';
  } catch (err) {
    if (err instanceof ThermoclineError) throw err;
    if (apiCode(err) !== STREAM_NOT_FOUND && !/stream not found/i.test((err as Error).message)) throw err;
  }
  if (config.stream.mode === 'verify') throw new ThermoclineError(NATS_ERRORS.TC_NATS_STREAM_MISSING, `stream ${want.name} does not exist (stream.mode = "verify")`);
  try {
    await jsm.streams.add(want);
  } catch (err) {
    // Another edge created it meanwhile: verify that one instead.
    if (/already in use|already exists/i.test((err as Error).message)) return ensureStream(jsm, { ...config, stream: { ...config.stream, mode: 'verify' } });
    throw err;
  }
  return 'created';
}
