import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../testing/index.js';
import { apiTarget } from './api-client.js';

t.test('tap and top send the API token of the config, else of THERMOCLINE_API_TOKEN', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'agent.toml');
  fs.writeFileSync(file, `data_dir = ${JSON.stringify(dir)}\n[api]\naddress = "0.0.0.0:9999"\nauth = { bearer_token = "\${API_TOKEN}" }\n`);
  process.env.API_TOKEN = 'from-config-token';
  t.teardown(() => delete process.env.API_TOKEN);
  t.same(await apiTarget(undefined, file, {}), { base: 'http://127.0.0.1:9999', headers: { authorization: 'Bearer from-config-token' } });
  t.same(await apiTarget('10.0.0.1:8686', undefined, { THERMOCLINE_API_TOKEN: 'from-env' }), {
    base: 'http://10.0.0.1:8686',
    headers: { authorization: 'Bearer from-env' },
  });
  t.same(await apiTarget(undefined, undefined, {}), { base: 'http://127.0.0.1:8686', headers: {} });
});
