/**
 * Helpers for the deployment test's own copies of the services a server runs beside the app
 * (Caddy, coturn): free ports, the recipe's files from deploy/ with a test's values put in, and
 * a child process whose output is kept for the failure message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const deployDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy');

const listenTcp = (port: number): Promise<number | undefined> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });

const udpFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });

/** A port on 127.0.0.1 free for TCP and, when `udp`, for UDP too (TURN listens on both). */
export async function freePort(udp = false): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await listenTcp(0);
    if (port !== undefined && (!udp || (await udpFree(port)))) return port;
  }
  throw new Error('no free port');
}

/**
 * `count` consecutive UDP ports, free now, below Linux's ephemeral range (32768 up), where the
 * kernel hands out no ports of its own to other tests' sockets meanwhile.
 */
export async function freeUdpRange(count: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let free = true;
    for (let port = first; port < first + count && free; port += 1) free = await udpFree(port);
    if (free) return [first, first + count - 1];
  }
  throw new Error(`no ${count} free UDP ports in a row`);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A file of deploy/ as the recipe gives it. */
export const recipe = (name: string): Promise<string> =>
  readFile(path.join(deployDir, name), 'utf8');

/**
 * The settings of an environment file of deploy/ (systemd's EnvironmentFile syntax, as far as
 * the recipe uses it: `KEY=value` lines, `#` comments, a value in single or double quotes).
 */
export async function recipeEnv(name: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await recipe(name)).split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const value = match[2]!;
    env[match[1]!] = /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}

/**
 * `text` with `from` replaced by `to`. Throws when `from` is not there: the recipe changed and
 * the test would otherwise go on testing something other than what a reader installs.
 */
export function substitute(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`deploy/ no longer has ${String(from)}: update the test with it`);
  return text.replace(from, to);
}

/** A child process whose output is kept; `stop` ends it (SIGTERM, then SIGKILL) and waits. */
export class Daemon {
  private output = '';
  private readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      // The tail is what explains a failure; a verbose relay would otherwise fill memory.
      this.output = (this.output + chunk.toString()).slice(-400_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    return this.output;
  }

  /** Resolves once `ready` holds; throws with the output if the process ends or `ms` pass. */
  async ready(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (!this.running) throw new Error(`${this.name} exited:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name} not ready in ${ms} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(killer);
  }
}
