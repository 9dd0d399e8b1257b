// `npm start` runs the default config, which reads ./var/log/*.log and ./var/targets/*.json.
// Creating them (and one sample log file, once) lets a newcomer see a log line land on the first
// start; both directories are git-ignored, so the user's own files there are never overwritten.
import fs from 'node:fs';

for (const dir of ['var/log', 'var/targets']) fs.mkdirSync(dir, { recursive: true });
const sample = 'var/log/sample.log';
if (!fs.existsSync(sample)) {
  const now = new Date().toISOString();
  const lines = [
    { time: now, level: 'info', service: 'sample', message: 'Thermocline read this line from ./var/log/sample.log' },
    { time: now, level: 'warn', service: 'sample', message: 'append JSON lines to any ./var/log/*.log file and they land in ClickHouse logs_events', user: 'newcomer' },
  ];
  fs.writeFileSync(sample, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}
