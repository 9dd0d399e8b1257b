/**
 * One agent per data directory. Two agents sharing a queue database would deliver the same
 * batches twice and fight over checkpoints, so the second one must refuse to start, whatever it
 * was started by (a second `npm start`, a unit restarted while the old process still drains).
 *
 * The lock is an exclusive SQLite lock on `<data_dir>/agent.lock`, i.e. a kernel file lock:
 * the kernel drops it when the holder dies, so a SIGKILLed agent never leaves a stale lock behind
 * (a pid file would, and containers reuse pid 1 every time). `queue.db` itself stays shareable,
 * because `thermocline export-rollups -c` reads the exporter's watermark next to a running agent.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { ThermoclineError, CORE_ERRORS } from '../errors.js';
import { createPrivateFile, makePrivateDir } from './private-files.js';

export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(dataDir: string): DataDirLock {
    const file = path.join(dataDir, 'agent.lock');
    let db: Database.Database;
    try {
      makePrivateDir(dataDir);
      createPrivateFile(file);
      db = new Database(file, { timeout: 0 });
    } catch (err) {
      throw new ThermoclineError(CORE_ERRORS.TC_DATA_DIR, `data_dir "${dataDir}" is not a writable directory: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // A write takes the EXCLUSIVE lock; locking_mode keeps it until the connection closes.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, started TEXT); DELETE FROM holder;');
      db.prepare('INSERT INTO holder VALUES (?, ?)').run(process.pid, new Date().toISOString());
    } catch (err) {
      db.close();
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        throw new ThermoclineError(
          CORE_ERRORS.TC_DATA_DIR_IN_USE,
          `data_dir "${dataDir}" is in use by another running Thermocline agent (it holds ${file}); two agents must not share a queue database`,
          { cause: err },
        );
      }
      throw new ThermoclineError(CORE_ERRORS.TC_DATA_DIR, `cannot lock ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new DataDirLock(db);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}
