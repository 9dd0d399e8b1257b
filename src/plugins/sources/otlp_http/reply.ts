import type { ServerResponse } from 'node:http';
import protobuf from 'protobufjs/minimal.js';

/**
 * Response bodies in the request's encoding (OTLP specification, "OTLP/HTTP Response"):
 * `Export<Signal>ServiceResponse` on success, `google.rpc.Status` on failure.
 */

export type BodyEncoding = 'protobuf' | 'json';

export const CONTENT_TYPES: Record<BodyEncoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** gRPC status codes (google/rpc/code.proto) that go with our HTTP answers. */
export const GRPC = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The name of the `rejected_*` field of each signal's partial success. */
export interface PartialSuccessField {
  proto: string;
  json: string;
}

/**
 * An `Export<Signal>ServiceResponse`. Full success leaves `partial_success` unset: the
 * specification forbids an empty one (exporters log it as a warning). Otherwise
 * `partial_success { int64 rejected_<items> = 1; string error_message = 2; }` is field 1.
 */
export function exportResponse(encoding: BodyEncoding, field: PartialSuccessField, rejected: number, message: string): Buffer {
  if (encoding === 'json') {
    if (rejected === 0 && message === '') return Buffer.from('{}');
    return Buffer.from(JSON.stringify({ partialSuccess: { [field.json]: String(rejected), errorMessage: message } }));
  }
  if (rejected === 0 && message === '') return Buffer.alloc(0);
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork();
  w.uint32((1 << 3) | 0).int64(rejected);
  if (message !== '') w.uint32((2 << 3) | 2).string(message);
  w.ldelim();
  return Buffer.from(w.finish());
}

/** A `google.rpc.Status { int32 code = 1; string message = 2; }` (googleapis google/rpc/status.proto). */
export function statusBody(encoding: BodyEncoding, code: number, message: string): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 0).int32(code);
  w.uint32((2 << 3) | 2).string(message);
  return Buffer.from(w.finish());
}

export function send(res: ServerResponse, status: number, encoding: BodyEncoding, body: Buffer, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'Content-Type': CONTENT_TYPES[encoding], 'Content-Length': String(body.length) });
  res.end(body);
}
