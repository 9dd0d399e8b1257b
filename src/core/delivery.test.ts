import t from 'tap';
import { Delivery } from './delivery.js';

/*
 * The token format is a contract with what destinations already hold: a delivery pinned in the
 * queue before an upgrade is replayed after it, and its replay must carry the tokens its first
 * attempt was sent with. These strings are the ones earlier versions built by hand
 * (`<sink>@<instance>:<seq>`, ClickHouse `…:<table>` and `…:<table>:<lo>-<hi>`).
 */
t.test('tokens keep the format earlier versions committed', async (t) => {
  const d = new Delivery('ch', '9f86d081884c7d65', 1_733_300_000_000_042, 1_733_300_000_000_050);
  t.equal(d.token(), 'ch@9f86d081884c7d65:1733300000000042');
  t.equal(d.token('logs_events'), 'ch@9f86d081884c7d65:1733300000000042:logs_events');
  t.equal(d.token('logs_events', '0-500'), 'ch@9f86d081884c7d65:1733300000000042:logs_events:0-500');
  t.equal(d.stream, 'ch@9f86d081884c7d65', 'the stream is the token up to its seq: the postgres ledger row');
});

t.test('equal identities give equal tokens; any difference gives another', async (t) => {
  const a = new Delivery('pg', 'i1', 10, 12);
  t.equal(a.token(), new Delivery('pg', 'i1', 10, 12).token(), 'a replay');
  t.not(a.token(), new Delivery('pg', 'i2', 10, 12).token(), 'another agent with the same config');
  t.not(a.token(), new Delivery('pg', 'i1', 11, 12).token(), 'another delivery');
  t.equal(new Delivery('x', 'i', 5).last, 5, 'a single batch');
  t.same(JSON.parse(JSON.stringify(a)), { sink: 'pg', instance: 'i1', first: 10, last: 12 });
});

t.test('a batch with an upstream identity is named by it, the same on every agent', async (t) => {
  const onA = new Delivery('pg', 'aaaaaaaaaaaa', 1_000, 1_000, 'nats:TELEMETRY:bus@0123:42');
  const onB = new Delivery('pg', 'bbbbbbbbbbbb', 7_000, 7_000, 'nats:TELEMETRY:bus@0123:42');
  t.equal(onA.token(), 'pg@origin:nats:TELEMETRY:bus@0123:42');
  t.equal(onA.token(), onB.token(), 'two gateways, one message: one token');
  t.equal(onA.token('logs_events', '0-500'), onB.token('logs_events', '0-500'), 'scoped tokens too');
  t.equal(onA.stream, onB.stream, 'one ledger stream');
  t.equal(onA.position, 0, 'the stream holds that delivery alone');
  t.not(onA.token(), new Delivery('ch', 'aaaaaaaaaaaa', 1_000, 1_000, 'nats:TELEMETRY:bus@0123:42').token(), 'another sink writes it under its own name');
  t.not(onA.token(), new Delivery('pg', 'aaaaaaaaaaaa', 1_000).token(), 'the queue-named delivery of the same seq differs');
  t.equal(new Delivery('pg', 'i1', 10, 12).position, 10, 'without an origin, the position is the first seq');
  t.same(JSON.parse(JSON.stringify(onA)), { sink: 'pg', instance: 'aaaaaaaaaaaa', first: 1_000, last: 1_000, origin: 'nats:TELEMETRY:bus@0123:42' });
});
