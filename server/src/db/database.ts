import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { childProcessEntry } from '../child-process-entry';
import type { ClientEmitters } from '../cluster/client-emitters';
import { HealthProbe, type DependencyState } from '../cluster/health-probe';
import * as schema from './schema';

export type Schema = typeof schema;
/** The query interface shared by the embedded and the server engine. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  /** `pglite` (embedded) or `postgres` (a server reached by DATABASE_URL). */
  engine: 'pglite' | 'postgres';
  /** Whether the database answers (the embedded one always does). */
  state(): DependencyState;
  close(): Promise<void>;
}

/** Beside this module in the sources, beside main.js in the compiled server (copied by the build). */
const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const creator = childProcessEntry(import.meta.url, 'create-database');

/**
 * Postgres settings for the embedded engine, sized for one small application database.
 *
 * PGlite starts Postgres with the stock `shared_buffers` of 128 MB; the shared memory lives in the
 * WebAssembly heap, resident as soon as Postgres starts and never handed back (a WebAssembly
 * memory only grows): measured, 147 MB of the heap is resident at 128 MB and 29 MB at 16 MB.
 * OnAir's tables are a few MB and the engine reads its files through the operating system's page
 * cache anyway, so 16 MB holds the working set with room to spare. The per-operation limits are
 * lowered for the same reason: what a sort or an index build takes stays in the heap for the life
 * of the process.
 *
 * `initialMemory` is left alone: PGlite's module declares 128 MB as its minimum, and pages never
 * touched cost nothing resident. `relaxedDurability` only changes when IndexedDB is written (the
 * browser); on Node's file system it does nothing.
 */
const embeddedOptions: PGliteOptions = {
  startParams: [
    ...PGlite.defaultStartParams,
    ...[
      'shared_buffers=16MB',
      'work_mem=2MB',
      'maintenance_work_mem=16MB',
      'temp_buffers=1MB',
    ].flatMap((setting) => ['-c', setting]),
  ],
};

export interface DatabaseOptions {
  /** A `postgres://` URL; when absent the embedded engine is used. */
  databaseUrl?: string | undefined;
  /** Folder for the embedded engine's files; `memory://` keeps nothing on disk. */
  dataDir: string;
  /** Where the server's pool and its connections are watched for errors. */
  emitters?: ClientEmitters;
  /** Told when the server stops or starts answering. */
  onStateChange?: (state: DependencyState) => void;
}

/**
 * A request waits at most this long for a connection (a new one, or a turn in the pool's queue):
 * with the server down it is told `unavailable` well within 2 s instead of hanging.
 */
const connectTimeoutMs = 1500;

/** Opens the database and brings its schema up to date before anything else touches it. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 10,
      connectionTimeoutMillis: connectTimeoutMs,
      // A server that vanished without closing the connection is noticed by the kernel.
      keepAlive: true,
    });
    const { emitters } = options;
    if (emitters) {
      // The pool reports its idle connections' errors; a connection in use reports its own,
      // between queries too ("terminating connection" during a restart).
      emitters.watch('database pool', pool);
      pool.on('connect', (client) => {
        emitters.watch('database connection', client);
        client.once('end', () => emitters.forget(client));
      });
    }
    const probe = new HealthProbe({
      check: () => pool.query('select 1'),
      intervalMs: 1000,
      timeoutMs: connectTimeoutMs,
      onChange: options.onStateChange,
    });
    const db = drizzlePg({ client: pool, schema });
    // Several nodes may start at once: one migrates, the others wait on the advisory lock.
    const client = await pool.connect();
    try {
      await client.query('select pg_advisory_lock(726354)');
      await migratePg(drizzlePg({ client, schema }), { migrationsFolder });
    } finally {
      await client.query('select pg_advisory_unlock(726354)').catch(() => undefined);
      client.release();
    }
    probe.start();
    return {
      db: db as unknown as Db,
      engine: 'postgres',
      state: () => probe.state,
      close: async () => {
        probe.stop();
        await pool.end();
      },
    };
  }
  const dataDir = options.dataDir;
  if (!dataDir.startsWith('memory://')) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await createInChildProcess(dataDir);
  }
  const client = await PGlite.create(dataDir, embeddedOptions);
  const db = drizzlePglite({ client, schema });
  await migratePglite(db, { migrationsFolder });
  return {
    db: db as unknown as Db,
    engine: 'pglite',
    state: () => 'ok',
    close: () => client.close(),
  };
}

/** Creates an embedded database in `dataDir` and applies every migration (see `create-database`). */
export async function createEmbeddedDatabase(dataDir: string): Promise<void> {
  const client = await PGlite.create(dataDir, embeddedOptions);
  try {
    await migratePglite(drizzlePglite({ client }), { migrationsFolder });
  } finally {
    await client.close();
  }
}

/**
 * Creates a new embedded database in a short-lived process. Creating one takes PGlite a second
 * engine and initdb's own WebAssembly module, and creating the tables grows the engine's heap:
 * in this process that would keep ~550 MB more resident, until a garbage collection an idle
 * server may never run, or for good (a WebAssembly memory never shrinks). A process that exits
 * gives all of it back. An in-memory database has no files to hand over and is created in place.
 */
async function createInChildProcess(dataDir: string): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, [...creator.execArgv, creator.path, dataDir]);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`Could not create the database in ${dataDir}${stderr ? `: ${stderr}` : ''}`, {
      cause: error,
    });
  }
}
