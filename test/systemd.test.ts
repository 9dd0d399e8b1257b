import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { tempDir } from './helpers/pipeline.js';

const unit = fs.readFileSync('config/systemd/thermocline.service', 'utf8');
const directives = new Map<string, string[]>();
for (const line of unit.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line);
  if (m) directives.set(m[1] as string, [...(directives.get(m[1] as string) ?? []), m[2] as string]);
}
const one = (k: string) => directives.get(k)?.[0];

t.test('the unit is hardened and stops within a bound above the drain timeout', async (t) => {
  t.equal(one('User'), 'thermocline', 'dedicated user');
  t.equal(one('StateDirectory'), 'thermocline');
  t.equal(one('ProtectSystem'), 'strict');
  t.equal(one('Restart'), 'on-failure');
  t.equal(one('RestartPreventExitStatus'), '78', 'an invalid config does not restart in a loop');
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  t.ok(Number(one('TimeoutStopSec')) > 30, 'above the default shutdown.timeout_secs');
  t.equal(one('NoNewPrivileges'), 'true');
  t.equal(one('CapabilityBoundingSet'), '');
  t.notOk((directives.get('Environment') ?? []).some((e) => e.startsWith('GLIBC_TUNABLES=')), "glibc's malloc keeps its defaults: a fixed mmap threshold doubled the CPU per event at high rates (docs/operations.md#resident-memory)");
  t.ok(directives.get('Environment')?.includes('NODE_OPTIONS=--max-semi-space-size=8'), "V8's young generation halved: less resident memory for the same CPU (docs/operations.md#resident-memory)");
});

const analyze = spawnSync('systemd-analyze', ['--version']);
t.test('systemd-analyze verify accepts the unit', { skip: analyze.error ? 'systemd-analyze is not installed here' : false }, async (t) => {
  // verify checks that ExecStart binaries exist: point them at a stand-in for the installed CLI.
  const dir = tempDir(t);
  const bin = path.join(dir, 'thermocline');
  fs.writeFileSync(bin, '#!/bin/sh\n', { mode: 0o755 });
  const file = path.join(dir, 'thermocline.service');
  fs.writeFileSync(file, unit.replaceAll('/usr/bin/thermocline', bin));
  const res = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  t.equal(res.status, 0, res.stderr);
  t.notMatch(`${res.stdout}${res.stderr}`, /Unknown (key|section)|Invalid|Failed to parse/i);
});
