/**
 * `node create-database.js <dataDir>`: creates an embedded database with its tables in `dataDir`
 * and exits. The server runs it before it opens a new data directory, so the memory that
 * creating takes goes back to the operating system with this process (see `openDatabase`).
 */
import { createEmbeddedDatabase } from './database';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: create-database <dataDir>\n');
  process.exit(2);
}
await createEmbeddedDatabase(dataDir);
