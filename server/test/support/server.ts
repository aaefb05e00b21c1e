import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { io as connect, type Socket } from 'socket.io-client';
import type { AuthResponse, ClientToServerEvents, ServerToClientEvents } from '@onair/protocol';
import { loadConfig, type Config } from '../../src/config';
import { startServer, type OnAirServer, type StartOptions } from '../../src/server';

export type Engine = 'pglite' | 'postgres';

/** PGlite always; the PostgreSQL server too when DATABASE_URL is set (as CI does). */
export const engines: Engine[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/** A database of its own on the PostgreSQL server, so suites can run in parallel; dropped by `drop`. */
export async function scratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('DATABASE_URL is not set');
  const name = `onair_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      // A closed pool has told its connections to end, but they may not have gone yet: forcing
      // the drop under them makes the server terminate them, an error nobody listens for any more.
      for (let waited = 0; waited < 3000; waited += 50) {
        const open = await c.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where datname = $1',
          [name],
        );
        if (open.rows[0]?.n === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestServer extends OnAirServer {
  /** The PostgreSQL server database it uses, when it uses one. */
  databaseUrl: string | undefined;
  /** Closes the server and removes its scratch database. */
  stop(): Promise<void>;
}

export interface TestServerOptions extends StartOptions {
  engine?: Engine;
  env?: Record<string, string>;
}

const testLogLevel = process.env.TEST_LOG_LEVEL ?? 'silent';

/** The real server on 127.0.0.1, a random port and a fresh database. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const engine = options.engine ?? 'pglite';
  const scratch = engine === 'postgres' ? await scratchDatabase() : undefined;
  const config: Config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    // TEST_LOG_LEVEL=debug shows a failing test's server (and media worker) logs.
    LOG_LEVEL: testLogLevel,
    // Limits kept in Redis outlive a test run: each server counts in a namespace of its own
    // unless a test gives several nodes one to share.
    REDIS_KEY_PREFIX: `onair-test-${randomBytes(6).toString('hex')}`,
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    ...options.env,
  });
  const server = await startServer(config, { logger: pino({ level: testLogLevel }), ...options });
  return Object.assign(server, {
    databaseUrl: scratch?.url ?? options.env?.DATABASE_URL,
    async stop() {
      await server.close();
      await scratch?.drop();
    },
  });
}

let counter = 0;
export const uniqueName = (prefix = 'user'): string =>
  `${prefix}_${process.pid.toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`.slice(
    0,
    30,
  );

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small HTTP client for the API: JSON in and out, an optional bearer token. */
export function api(baseUrl: string) {
  return async function request<T = any>(
    method: string,
    path: string,
    options: {
      token?: string;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
}

export interface TestUser extends AuthResponse {
  username: string;
  password: string;
}

export async function registerUser(
  server: { url: string },
  name = uniqueName(),
): Promise<TestUser> {
  const password = 'correct horse battery';
  const res = await api(server.url)<AuthResponse>('POST', '/api/auth/register', {
    body: { username: name, password },
  });
  if (res.status !== 201)
    throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, username: name, password };
}

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Settings for several nodes of one deployment on this machine's Redis: one signing secret, and
 * one namespace in Redis (realtime channel and shared limits) that no other test run uses.
 */
export function clusterEnv(): Record<string, string> {
  return {
    JWT_SECRET: 'shared-secret-for-two-nodes-of-one-cluster',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `onair-test-${randomBytes(6).toString('hex')}`,
  };
}

/** A real socket.io-client connected with the user's token; rejects when the server refuses it. */
export function connectSocket(
  server: { url: string },
  token: string | undefined,
): Promise<ClientSocket> {
  const socket: ClientSocket = connect(server.url, {
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Emits with an ack and a timeout (an ack that never comes fails the test instead of hanging). */
export function emitAck<E extends keyof ClientToServerEvents>(
  socket: ClientSocket,
  event: E,
  payload: unknown,
): Promise<any> {
  return (socket.timeout(5000) as any).emitWithAck(event, payload);
}

/** Resolves with the next `event` that satisfies `match`, or rejects after `ms`. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  match: (...args: Parameters<ServerToClientEvents[E]>) => boolean = () => true,
  ms = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: any[]) => {
      if (!(match as (...a: any[]) => boolean)(...args)) return;
      clearTimeout(timer);
      (socket as any).off(event, listener);
      resolve(args[0]);
    };
    const timer = setTimeout(() => {
      (socket as any).off(event, listener);
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, ms);
    (socket as any).on(event, listener);
  });
}

/** Collects every `event` a socket receives, for asserting what did *not* arrive. */
export function collect<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
): Parameters<ServerToClientEvents[E]>[0][] {
  const seen: any[] = [];
  (socket as any).on(event, (payload: unknown) => seen.push(payload));
  return seen;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ends every live stream of `user` (a host has one at a time), e.g. between tests sharing a host. */
export async function endLive(server: { url: string }, user: TestUser): Promise<void> {
  const request = api(server.url);
  const mine = await request<{ streamId: string; status: string }[]>(
    'GET',
    `/api/live/user/${user.user.id}`,
    { token: user.token },
  );
  for (const stream of mine.body.filter((s) => s.status === 'live'))
    await request('POST', `/api/live/end/${stream.streamId}`, { token: user.token });
}
