/**
 * A Redis server and a PostgreSQL cluster of a test's own, on free ports in a temporary
 * directory, which the test may stop, kill, freeze and restart without disturbing anything else
 * on the machine (the shared Redis and PostgreSQL other suites use are never touched).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** `redis-server` on a free port, with nothing saved to disk. */
export class PrivateRedis {
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts one on a free port (or `port`, to run one again where an earlier one was). */
  static async start(port?: number): Promise<PrivateRedis> {
    const redis = new PrivateRedis(port ?? (await freePort()));
    await redis.start();
    return redis;
  }

  /** Starts the server (again) on its port and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.process) throw new Error('already running');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.process = child;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        if (this.process === child) this.process = undefined;
        resolve();
      }),
    );
    this.exited = exited;
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error('redis-server exited at start');
        return accepts(this.port);
      },
      10_000,
      'redis-server to listen',
    );
  }

  /** Kills it outright (SIGKILL: no goodbye to its clients beyond the kernel's resets). */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Stops answering without closing anything: connections stay open, replies never come. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  /** Killed and started again after `downMs` on the same port. */
  async restart(downMs = 0): Promise<void> {
    await this.kill();
    if (downMs > 0) await sleep(downMs);
    await this.start();
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.kill();
  }
}

const pgBin = '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL 15 cluster from Debian's packages in a temporary directory, trusting local
 * connections. initdb refuses to run as root, so as root the cluster belongs to `postgres`.
 */
export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** `postgres://` URL of its `postgres` database. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  static async start(): Promise<PrivatePostgres> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-pg-'));
    if (asRoot) chownSync(dir, postgresUser().uid, postgresUser().gid);
    const cluster = new PrivatePostgres(dir, await freePort());
    await pgTool('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '-N']);
    await cluster.start();
    return cluster;
  }

  private ctl(action: string, ...extra: string[]): Promise<unknown> {
    const settings = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      // A test's data need not survive a power cut; fsync only slows every test down.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    return pgTool('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      settings,
      '-w',
      '-t',
      '30',
      action,
      ...extra,
    ]);
  }

  async start(): Promise<void> {
    await this.ctl('start');
  }

  /** `pg_ctl stop -m fast`: every connection is terminated, then the server is gone. */
  async stop(): Promise<void> {
    await this.ctl('stop', '-m', 'fast');
  }

  /** `pg_ctl restart -m fast`, as an operator restarts it. */
  async restart(): Promise<void> {
    await this.ctl('restart', '-m', 'fast');
  }

  /** Stops the cluster, if running, and deletes its files. */
  async destroy(): Promise<void> {
    await this.ctl('stop', '-m', 'immediate').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

const asRoot = process.getuid?.() === 0;

let postgresIds: { uid: number; gid: number } | undefined;
function postgresUser(): { uid: number; gid: number } {
  if (postgresIds) return postgresIds;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs a postgres user to own the test cluster');
  const [, , uid, gid] = line.split(':');
  postgresIds = { uid: Number(uid), gid: Number(gid) };
  return postgresIds;
}

function pgTool(tool: string, args: string[]): Promise<unknown> {
  const binary = path.join(pgBin, tool);
  return asRoot ? run('runuser', ['-u', 'postgres', '--', binary, ...args]) : run(binary, args);
}
