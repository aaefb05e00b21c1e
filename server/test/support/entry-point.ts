/**
 * The product as `npm start` runs it: `server/src/main.ts` in a process of its own, on the
 * embedded database under a data directory, whatever the environment of the test run says.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The test run's environment without the scale-out engines. CI sets DATABASE_URL for the whole
 * test command so the storage suites run on PostgreSQL too; the entry point must still be
 * tested as it starts with no configuration, on PGlite. Engines named in `extra` are kept.
 */
export function embeddedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  return { ...env, ...extra };
}

/** The TypeScript entry point through the tsx loader, as `npm run dev` runs it. */
const sourceEntry = ['--import', 'tsx', 'server/src/main.ts'];

/**
 * Runs the entry point with `env` (the embedded environment is the caller's to choose);
 * `nodeArgs` names another one, such as a compiled `main.js`.
 */
export function spawnEntryPoint(
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = sourceEntry,
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, nodeArgs, {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface EntryPoint {
  url: string;
  pid: number;
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Settles with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s. */
  stop(): Promise<void>;
}

/** Starts the entry point on the embedded database and resolves once it prints its URL. */
export async function startEntryPoint(
  env: Record<string, string>,
  nodeArgs: string[] = sourceEntry,
): Promise<EntryPoint> {
  const child = spawnEntryPoint(
    embeddedEnv({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }),
    nodeArgs,
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A node that never says it is live is not left running behind the failed test.
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${out} ${stderr}`)), 45_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /live at (http:\/\/\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${stderr}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url,
    pid: child.pid!,
    child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The processes `pid` started (its media workers), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .split(' ')
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * The media workers among `pid`'s children. Under the tsx loader the entry point may also hold
 * esbuild's service process, started when a module is first loaded late, so children alone
 * are no count of workers.
 */
export function mediaWorkerPids(pid: number): number[] {
  return childPids(pid).filter((child) => commandOf(child).includes('worker-main'));
}

/** A process's command line, or '' once it is gone. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Whether a process has exited (gone, or a zombie nobody has reaped yet). */
export function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
