/**
 * `node --import tsx query.ts <url> <data_dir> <sql>`: prints the rows of `sql` as JSON. The
 * restart tests read an embedded engine's directory in a process of its own: libchdb binds one
 * directory per process, and the test process already holds another. Without arguments (tap runs
 * every file of a folder it is given) it does nothing.
 */
import { connectClickHouse } from '../../../../storage/index.js';

const [url, dataDir, sql] = process.argv.slice(2);
if (url !== undefined && dataDir !== undefined && sql !== undefined) {
  const connection = await connectClickHouse(url, { dataDir });
  try {
    const rows = await (await connection.client.query({ query: sql, format: 'JSONEachRow' })).json();
    process.stdout.write(JSON.stringify(rows));
  } finally {
    await connection.release();
  }
}
