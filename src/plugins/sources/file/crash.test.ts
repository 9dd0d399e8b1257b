import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exited, packageRoot, spawnAgent, stoppedGracefully, eventually, tempDir } from '../../../testing/index.js';

/**
 * The file source's no-loss, no-duplicate guarantee, end to end in a child agent:
 * a writer appends numbered lines (rotating the file by renaming it every few thousand lines)
 * while `file → file_recorder` is SIGKILLed and restarted several times, once right after a
 * rotation, once right after a file lived at the path for a millisecond, once after a file came
 * and went at a path a rotation had left empty, and once with a rotation happening while it is
 * down. At the end every number is
 * present exactly once, counting a delivery that was replayed (same token: killed after the sink
 * wrote it but before the queue acknowledged it) once, as a destination that remembers tokens does.
 */

interface Delivery {
  token: string;
  events: Array<{ message: string }>;
}

const TOTAL = 16_000;
const ROTATE_EVERY = 3_000;
/** About 1,500 lines a second: the writer lasts through most of the killed runs. */
const LINES_PER_TICK = 15;

// Plain lines are committed as events, JSON lines as batches written from their bytes (lines.ts).
for (const format of ['plain', 'json'] as const) {
  t.test(`${format}: SIGKILLs during appends and rotations: every line exactly once`, async (t) => {
    // KEEP_CRASH_DIR=/some/dir keeps the logs, queue, deliveries and each run's output
    // (run-<n>.log) of each format's run for inspection.
    const keep = process.env.KEEP_CRASH_DIR;
    const dir = keep ? fs.mkdtempSync(path.join(keep, `${format}-`)) : tempDir(t, 'thermocline-file-crash-');
    const agents = new Set<ReturnType<typeof spawnAgent>>();
    t.teardown(() => {
      [...agents].forEach((a, i) => {
        a.kill('SIGKILL');
        if (keep) fs.writeFileSync(path.join(dir, `run-${i + 1}.log`), a.output());
      });
    });
    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(logDir);
    const live = path.join(logDir, 'app.log');
    const record = path.join(dir, 'deliveries.jsonl');
    const config = path.join(dir, 'agent.toml');
    fs.writeFileSync(
      config,
      `data_dir = ${JSON.stringify(path.join(dir, 'data'))}
[api]
enabled = false
[plugins]
load = [${JSON.stringify(path.join(packageRoot, 'test/fixtures/plugins/file-recorder.ts'))}]
[sources.logs]
type = "file"
format = "${format}"
include = [${JSON.stringify(live)}]
glob_interval_secs = 0.5
rotate_wait_secs = 1
[sinks.rec]
type = "file_recorder"
inputs = ["logs"]
path = ${JSON.stringify(record)}
delay_ms = 5
batch = { max_events = 400, timeout_secs = 0.02 }
`,
    );

    // The writer: numbered lines, renamed away to app.log.<k> every ROTATE_EVERY lines.
    let next = 0;
    let rotations = 0;
    let rotatedAt = Date.now();
    let sinceRotation = 0;
    let fd = fs.openSync(live, 'a');
    // A rotation is a rename away, then the next file; a writer that reopens lazily leaves time
    // between the two.
    const renameAway = () => {
      fs.closeSync(fd);
      fs.renameSync(live, `${live}.${++rotations}`);
    };
    const reopen = () => {
      fd = fs.openSync(live, 'a');
      rotatedAt = Date.now();
      sinceRotation = 0;
    };
    const rotate = () => {
      renameAway();
      reopen();
    };
    const write = (n: number) => {
      let s = '';
      const end = Math.min(TOTAL, next + n);
      for (; next < end; next++) {
        const message = `seq=${next} ${'x'.repeat(80)}`;
        s += `${format === 'json' ? JSON.stringify({ message, n: next, level: 'info' }) : message}\n`;
        // Counted from the last rotation, the extra ones included, so that every file the running
        // agent must see lives about two seconds at this rate.
        if (++sinceRotation === ROTATE_EVERY) {
          fs.writeSync(fd, s);
          s = '';
          rotate();
        }
      }
      if (s) fs.writeSync(fd, s);
    };
    write(100); // for the first run to find; the writer starts once that run is reading
    let writer: NodeJS.Timeout | undefined;
    t.teardown(() => clearInterval(writer));

    const recorded = () => (fs.existsSync(record) ? fs.readFileSync(record, 'utf8').split('\n') : []);
    // A SIGKILL can cut the recorder's write short (the kernel stops a large write when a fatal
    // signal is pending). That delivery is replayed whole under the same token; the next run's
    // first delivery is then appended to the cut line, and is recovered from behind it.
    const parse = (l: string): Delivery[] => {
      try {
        return l ? [JSON.parse(l) as Delivery] : [];
      } catch {
        const next = l.lastIndexOf('{"token":');
        return next > 0 ? parse(l.slice(next)) : [];
      }
    };
    const deliveries = (): Delivery[] => recorded().flatMap(parse);
    const distinct = () => {
      const seen = new Map<string, Delivery>();
      for (const d of deliveries()) if (!seen.has(d.token)) seen.set(d.token, d);
      return [...seen.values()];
    };

    for (let run = 1; run <= 6; run++) {
      // Counted as deliveries, not lines: the recorder creates its file empty and may start a
      // fresh line, and a first run killed before its first commit leaves no checkpoint, so the
      // next start is a first start, which does not look for files rotated away before it.
      const before = deliveries().length;
      const agent = spawnAgent(config);
      agents.add(agent);
      await eventually(() => deliveries().length > before || next >= TOTAL, 30_000, `deliveries in run ${run}`);
      writer ??= setInterval(() => write(LINES_PER_TICK), 10);
      if (run === 2) {
        // Renamed away, the next file created only with the next line, after a look found the path
        // empty; that file is rotated away at once, and a look later finds only its successor
        // (a writer that reopens lazily). No tracked file went missing at that look.
        clearInterval(writer);
        renameAway();
        await new Promise((r) => setTimeout(r, 300));
        reopen();
        write(20);
        rotate();
        writer = setInterval(() => write(LINES_PER_TICK), 10);
        await new Promise((r) => setTimeout(r, 700)); // past the next periodic look (glob_interval_secs)
      }
      if (run === 3) {
        // Kill while the source is following a fresh rotation of a file it has been reading.
        await eventually(() => Date.now() - rotatedAt >= 1000, 30_000, 'the live file to be a second old');
        rotate();
      }
      if (run === 5) {
        // Rotated twice within a millisecond: the file between stands at app.log for no time any
        // look can see. It is found through the rotation after it, by the running agent or, if the
        // kill comes first, by the restart (docs/delivery.md#what-is-not-covered).
        write(20);
        rotate();
        write(20);
        rotate();
      }
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 400)));
      agent.kill('SIGKILL');
      await exited(agent);
      if (run === 4) {
        write(500); // lines into the live file that this run never saw...
        rotate(); // ...which is then rotated away while the agent is down
        write(500);
      }
    }
    await eventually(() => next >= TOTAL, 60_000, 'the writer to finish');
    clearInterval(writer);
    fs.closeSync(fd);

    const agent = spawnAgent(config);
    agents.add(agent);
    const count = () => distinct().reduce((n, d) => n + d.events.length, 0);
    await eventually(() => count() >= TOTAL, 60_000, `all ${TOTAL} lines delivered`).catch((err: unknown) => {
      const have = new Set(distinct().flatMap((d) => d.events.map((e) => Number(/^seq=(\d+) /.exec(e.message)?.[1] ?? -1))));
      const missing = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !have.has(i));
      const where = fs.readdirSync(logDir).map((name) => {
        const lines = fs.readFileSync(path.join(logDir, name), 'utf8').split('\n').filter(Boolean);
        return `${name} (inode ${fs.statSync(path.join(logDir, name)).ino}): ${lines[0]?.slice(0, 10)} … ${lines.at(-1)?.slice(0, 10)}`;
      });
      t.comment(`have ${count()} of ${TOTAL}; missing ${missing.length}: ${missing.slice(0, 5).join(',')} … ${missing.slice(-5).join(',')}`);
      t.comment(`files:\n${where.join('\n')}`);
      const warnings = [...agents].flatMap((a, i) =>
        a
          .output()
          .split('\n')
          .filter((l) => /"level":(40|50|60)/.test(l))
          .map((l) => `run ${i + 1}: ${l}`),
      );
      t.comment(`warnings and errors of all runs:\n${warnings.join('\n')}`);
      t.comment(`last agent output:\n${agent.output().slice(-5000)}`);
      throw err;
    });
    // The earlier runs may have delivered everything before this one even started: a SIGTERM sent
    // while node is still loading modules (before any handler exists) would kill it outright.
    await eventually(() => /pipeline started/.test(agent.output()), 60_000, 'the last run to start');
    await new Promise((r) => setTimeout(r, 500)); // anything extra would show up now
    agent.kill('SIGTERM');
    const stop = await exited(agent);
    t.ok(stoppedGracefully(stop, agent.output()), 'the last run stops cleanly', { ...stop, output: stop.code === 0 ? '' : agent.output().slice(-3000) });

    const all = deliveries();
    const byToken = new Map<string, Delivery[]>();
    for (const d of all) byToken.set(d.token, [...(byToken.get(d.token) ?? []), d]);
    const same = (a: Delivery, b: Delivery) => JSON.stringify(a.events) === JSON.stringify(b.events);
    t.ok(
      [...byToken.values()].every((ds) => ds.every((d) => same(d, ds[0] as Delivery))),
      `replayed deliveries are identical (${all.length - byToken.size} replays)`,
    );
    const counts = new Map<number, number>();
    for (const d of distinct()) {
      for (const e of d.events) {
        const n = Number(/^seq=(\d+) /.exec(e.message)?.[1] ?? -1);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
    }
    const missing = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !counts.has(i));
    const doubled = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
    t.same(missing, [], 'no line lost');
    t.same(doubled, [], 'no line twice');
    t.equal(counts.size, TOTAL, 'nothing else');
    t.ok(rotations >= 5, `the file was rotated ${rotations} times`);
  });
}
