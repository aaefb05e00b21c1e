import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectGarbage } from './inspector';
import { processTree } from './proc';

/** The checkout this harness lives in, whose server is measured unless `serverRoot` names another. */
export const benchRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /**
   * Has the main process collect its garbage (through its inspector, which the harness opens on
   * a random loopback port), so a memory reading that follows describes live memory. Media
   * workers the server forks are not reached. Resolves false when it could not be done.
   */
  collectGarbage(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Compiles the server as `npm run build` does (scripts/build-server.mjs) into a scratch folder of
 * the checkout, where its npm packages resolve; returns the folder, which the caller removes.
 */
async function buildServer(root: string): Promise<string> {
  const dir = path.join(root, '.tmp', `bench-server-${randomBytes(4).toString('hex')}`);
  await new Promise<void>((resolve, reject) =>
    execFile(
      process.execPath,
      [path.join(root, 'scripts/build-server.mjs'), dir],
      { cwd: root },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`server build failed: ${stderr || error.message}`)) : resolve(),
    ),
  );
  return dir;
}

export interface ServerProcessOptions {
  nodeArgs?: string[];
  /** Added to the environment; a variable set to undefined is removed from it. */
  env?: Record<string, string | undefined>;
  /** Another checkout whose server is measured (default: this one). */
  serverRoot?: string;
  /**
   * Runs the compiled server with plain `node`, as `npm start` does, instead of the sources
   * through tsx (default false). The loader compiles with esbuild's `keepNames`, which gives
   * every named function a `name` property of its own: per-object memory figures (a socket's)
   * then describe the loader more than the server.
   */
  built?: boolean;
}

/**
 * The real server, started as `npm start` would on the embedded database, in a process of its
 * own (which may fork media workers of its own). `serverRoot` runs another checkout's server.
 */
export async function startServerProcess(
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const root = options.serverRoot ?? benchRoot;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-bench-'));
  const buildDir = options.built ? await buildServer(root) : undefined;
  const entry = buildDir
    ? [path.join(buildDir, 'main.js')]
    : ['--import', 'tsx', 'server/src/main.ts'];
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--inspect=127.0.0.1:0', ...entry],
    {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        WEB_DIR: path.join(dataDir, 'no-web'),
        // Every benchmark user registers and signs in from 127.0.0.1 (servers without per-address
        // limits ignore these).
        REGISTRATIONS_PER_IP: '1000000',
        // The chat and API scenarios use streams nobody publishes to: they must not end for it.
        PUBLISHER_GRACE_SECONDS: '3600',
        LOGIN_FAILURES_PER_IP: '1000000',
        // Thousands of benchmark sockets come from this one address.
        SOCKETS_PER_IP: '1000000',
        API_REQUESTS_PER_IP: '1000000',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // The inspector announces itself on stderr; everything else the server says there is passed on.
  let inspectorUrl = '';
  let errText = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errText += chunk.toString();
    const lines = errText.split('\n');
    errText = lines.pop() ?? '';
    for (const line of lines) {
      const match = /Debugger listening on (ws:\/\/\S+)/.exec(line);
      if (match?.[1] && !inspectorUrl) inspectorUrl = match[1];
      else if (
        !/^(Debugger listening on|For help, see: https:\/\/nodejs.org|Debugger attached\.|Debugger ending)/.test(
          line,
        )
      )
        process.stderr.write(`${line}\n`);
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /live at (http:\/\/\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
    throw error;
  });
  child.stdout!.resume();
  // If the harness dies before it can stop the server, the server and its workers die with it.
  const killOnExit = () => {
    for (const pid of processTree(child.pid!).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.once('exit', killOnExit);
  return {
    url,
    pid: child.pid!,
    child,
    async collectGarbage() {
      if (!inspectorUrl) return false;
      try {
        await collectGarbage(inspectorUrl);
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      process.off('exit', killOnExit);
      // Its media workers, if any: they must not outlive a server that failed to stop them.
      const descendants = processTree(child.pid!).slice(1);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await new Promise((r) => setTimeout(r, 500));
      for (const pid of descendants) {
        if (!existsSync(`/proc/${pid}`)) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
      await rm(dataDir, { recursive: true, force: true });
      if (buildDir) await rm(buildDir, { recursive: true, force: true });
    },
  };
}

export async function post(url: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Registers a user; a server that is busy hashing passwords (429/503) is asked again later. */
export async function registerUser(
  baseUrl: string,
  name: string,
): Promise<{ token: string; user: { id: string } }> {
  for (let attempt = 1; ; attempt += 1) {
    const res = await fetch(`${baseUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: name, password: 'benchmark-password' }),
    });
    const text = await res.text();
    if (res.ok) return JSON.parse(text);
    if ((res.status !== 429 && res.status !== 503) || attempt === 20)
      throw new Error(`register ${name}: ${res.status} ${text}`);
    const retryAfter = Number(res.headers.get('retry-after'));
    const waitMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 500;
    await new Promise((r) => setTimeout(r, Math.min(waitMs, 5000)));
  }
}

/**
 * `n` new users, registered 8 at a time. Viewers get a user each: a server may cap the watching
 * sessions one user may hold (the node-datachannel engine allows three).
 */
export async function registerUsers(
  baseUrl: string,
  prefix: string,
  n: number,
): Promise<{ token: string; user: { id: string } }[]> {
  const suffix = Date.now().toString(36);
  const users: { token: string; user: { id: string } }[] = [];
  for (let i = 0; i < n; i += 8) {
    users.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(8, n - i) }, (_, j) =>
          registerUser(baseUrl, `${prefix}${i + j}_${suffix}`),
        ),
      )),
    );
  }
  return users;
}

/**
 * Before a scenario's first memory reading: the first full collection after start-up frees a lot
 * (the embedded database's and the loader's start-up garbage), and V8 hands those pages back to
 * the system some 10 s later. Collect, then wait that out, so it does not land between readings.
 */
export async function settleMemory(server: ServerProcess): Promise<void> {
  await server.collectGarbage();
  await new Promise((r) => setTimeout(r, 12_000));
}
