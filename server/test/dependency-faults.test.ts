/**
 * Nodes outlive their dependencies: two real nodes (the entry point, as `npm start` runs it) on
 * a private PostgreSQL cluster and a private Redis, which these tests restart, kill, freeze and
 * stop under them. Outages last `FAULT_OUTAGE_MS` (3 s by default; the behaviour they prove does
 * not change with length, and 30 s can be asked for by hand).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedEnv,
  hasExited,
  spawnEntryPoint,
  startEntryPoint,
  type EntryPoint,
} from './support/entry-point';
import { connected, RecordingViewer, SyntheticPublisher } from './support/loopback-peers';
import { moderate } from './support/moderation';
import { freePort, PrivatePostgres, PrivateRedis } from './support/private-services';
import {
  api,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
  uniqueName,
  type ClientSocket,
  type TestUser,
} from './support/server';

const outageMs = Number(process.env.FAULT_OUTAGE_MS ?? 3000);
/** What the issue allows: no request waits longer than this for a missing dependency. */
const failFastMs = 2000;
/** Nodes agree again (rooms, counts, bans) within this of the dependency's return. */
const convergeMs = 5000;

type Health = {
  ok: boolean;
  status: string;
  dependencies: { database: string; redis?: string };
};

const health = async (node: { url: string }): Promise<Health> =>
  (await api(node.url)<Health>('GET', '/api/health')).body;

async function until(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
): Promise<number> {
  const started = Date.now();
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

/** How long `work` took, and what it gave. */
async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

const alive = (node: EntryPoint) => node.child.exitCode === null && node.child.signalCode === null;

describe('dependency faults (private PostgreSQL and Redis)', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let a: EntryPoint;
  let b: EntryPoint;
  let host: TestUser;
  let streamId: string;
  /** a1 on node A; b1 and b2 on node B; all in the stream's room. */
  const sockets: Record<'a1' | 'b1' | 'b2', ClientSocket> = {} as never;
  const users: Record<'a1' | 'b1' | 'b2', TestUser> = {} as never;
  const dirs: string[] = [];
  const measured: Record<string, number> = {};
  /** Media published over WHIP to node A and watched over WHEP from it, through every fault. */
  const publisher = new SyntheticPublisher();
  const viewer = new RecordingViewer();

  /** Video keeps arriving while `outage` runs (the publisher sends about 60 packets a second). */
  async function mediaFlowsThrough(outage: () => Promise<unknown>): Promise<void> {
    const before = viewer.received('video');
    const started = Date.now();
    await outage();
    const seconds = (Date.now() - started) / 1000;
    expect(viewer.received('video') - before).toBeGreaterThan(seconds * 20);
  }

  const nodeEnv = async (extra: Record<string, string> = {}) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-faults-'));
    dirs.push(dataDir);
    return {
      DATA_DIR: dataDir,
      WEB_DIR: path.join(dataDir, 'no-web'),
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      JWT_SECRET: 'one-secret-for-the-nodes-of-this-test',
      REDIS_KEY_PREFIX: 'faults',
      MEDIA_WORKERS: '1',
      ...extra,
    };
  };

  /** A comment from one node reaches the room on the other within `ms`. */
  async function crosses(from: 'a1' | 'b1', to: 'a1' | 'b1', ms = convergeMs): Promise<void> {
    const text = `crossing ${uniqueName('c')}`;
    const arrived = nextEvent(sockets[to], 'live_comment_added', (c) => c.comment === text, ms);
    const ack = await emitAck(sockets[from], 'live_comment', { streamId, comment: text });
    if (!ack.ok) throw new Error(`comment refused: ${JSON.stringify(ack.error)}`);
    await arrived;
  }

  beforeAll(async () => {
    [pg, redis] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start()]);
    a = await startEntryPoint(await nodeEnv());
    b = await startEntryPoint(await nodeEnv());
    host = await registerUser(a);
    const started = await api(a.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'dependencies come and go' },
    });
    streamId = started.body.streamId;
    const whip = await fetch(`${a.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${started.body.streamKey}`,
      },
      body: await publisher.offer(),
    });
    expect(whip.status).toBe(201);
    await publisher.accept(await whip.text());
    publisher.start();
    const whep = await fetch(`${a.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: await viewer.offer(),
    });
    expect(whep.status).toBe(201);
    await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await whep.text() });
    await connected(viewer.pc);
    for (const [name, node] of [
      ['a1', a],
      ['b1', b],
      ['b2', b],
    ] as const) {
      users[name] = await registerUser(node);
      sockets[name] = await connectSocket(node, users[name].token);
      expect((await emitAck(sockets[name], 'join_live', { streamId })).ok).toBe(true);
    }
    await crosses('a1', 'b1');
  }, 120_000);

  afterAll(async () => {
    for (const socket of Object.values(sockets)) socket.close();
    await Promise.all([publisher.close(), viewer.close()]);
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([redis?.stop(), pg?.destroy()]);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    console.log('dependency faults, measured (ms):', measured);
  }, 60_000);

  it('a Redis restart no longer exits every node: both stay and chat crosses nodes again within 5 s', async () => {
    await redis.restart(500);
    const back = Date.now();
    await until(
      async () => (await health(a)).dependencies.redis === 'ok',
      convergeMs,
      'node A to see Redis again',
    );
    await until(
      async () => (await health(b)).dependencies.redis === 'ok',
      convergeMs,
      'node B to see Redis again',
    );
    await crosses('b1', 'a1');
    measured.redisRestartConverged = Date.now() - back;
    expect(measured.redisRestartConverged).toBeLessThan(convergeMs);
    expect(alive(a) && alive(b)).toBe(true);
  }, 30_000);

  it('a frozen Redis (SIGSTOP) no longer hangs sign-in, registration, joins and chat: they answer within 2 s, limits count in memory', async () => {
    redis.freeze();
    try {
      const frozenAt = Date.now();
      const [signIn, signInMs] = await timed(() =>
        api(a.url)('POST', '/api/auth/login', {
          body: { username: users.a1.username, password: users.a1.password },
        }),
      );
      expect(signIn.status).toBe(200);
      expect(signInMs).toBeLessThan(failFastMs);
      const [newcomer, registerMs] = await timed(() => registerUser(b));
      expect(registerMs).toBeLessThan(failFastMs);

      const socket = await connectSocket(b, newcomer.token);
      try {
        const [joined, joinMs] = await timed(() => emitAck(socket, 'join_live', { streamId }));
        expect(joined.ok).toBe(true);
        expect(joinMs).toBeLessThan(failFastMs);
        // The default budget is 5 comments in 5 s: the sixth is refused, so the limit still holds,
        // counted by this node alone.
        const answers: { ok: boolean; error?: { code: string } }[] = [];
        for (let i = 0; i < 6; i += 1) {
          const [ack, ms] = await timed(() =>
            emitAck(socket, 'live_comment', { streamId, comment: `frozen ${i}` }),
          );
          expect(ms).toBeLessThan(failFastMs);
          answers.push(ack);
        }
        expect(answers.slice(0, 5).every((ack) => ack.ok)).toBe(true);
        expect(answers[5]).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
      } finally {
        socket.close();
      }
      await until(
        async () => (await health(a)).dependencies.redis === 'down',
        failFastMs,
        'health to say Redis is down',
      );
      measured.redisFrozenSeenDown = Date.now() - frozenAt;
      expect((await health(a)).status).toBe('degraded');
      // Redis is not required: every node loses it at once, and they all still serve.
      expect((await api(a.url)('GET', '/api/ready')).status).toBe(200);
    } finally {
      redis.thaw();
    }
    const thawed = Date.now();
    await until(
      async () =>
        (await health(a)).dependencies.redis === 'ok' &&
        (await health(b)).dependencies.redis === 'ok',
      convergeMs,
      'both nodes to see Redis again',
    );
    await crosses('a1', 'b1');
    measured.redisThawConverged = Date.now() - thawed;
    expect(alive(a) && alive(b)).toBe(true);
  }, 30_000);

  it('Redis killed for a while: nodes stay up on memory limits, and rooms, counts and bans converge within 5 s of its return', async () => {
    await redis.kill();
    const killedAt = Date.now();
    await until(
      async () => (await health(a)).dependencies.redis === 'down',
      1000,
      'node A to see Redis gone',
    );
    measured.redisKilledSeenDown = Date.now() - killedAt;
    const [comment, commentMs] = await timed(() =>
      emitAck(sockets.a1, 'live_comment', { streamId, comment: 'while Redis is away' }),
    );
    expect(comment.ok).toBe(true);
    expect(commentMs).toBeLessThan(failFastMs);

    // Meanwhile node A bans b2, whose socket is on node B: B hears nothing of it yet.
    const banned = nextEvent(sockets.b2, 'live_banned', () => true, outageMs + convergeMs + 5000);
    banned.catch(() => undefined);
    expect(
      (await moderate(a, host, streamId, { action: 'ban', userId: users.b2.user.id })).status,
    ).toBe(200);
    const count = async () =>
      ((await api(a.url)('GET', `/api/live/${streamId}`)).body as { viewerCount: number })
        .viewerCount;
    const truth = await count();
    const countOnB = nextEvent(
      sockets.b1,
      'viewer_count',
      (c) => c.viewerCount === truth,
      outageMs + convergeMs + 5000,
    );
    countOnB.catch(() => undefined);
    await mediaFlowsThrough(() => sleep(Math.max(0, outageMs - (Date.now() - killedAt))));
    expect(alive(a) && alive(b)).toBe(true);

    await redis.start();
    const back = Date.now();
    await banned;
    await countOnB;
    // Each node sees Redis back on its own probe: a comment published by a node that has not yet
    // is dropped (never queued), so the crossing is tried once both say so.
    await until(
      async () =>
        (await health(a)).dependencies.redis === 'ok' &&
        (await health(b)).dependencies.redis === 'ok',
      convergeMs,
      'both nodes to see Redis back',
    );
    await crosses('a1', 'b1');
    measured.redisOutageConverged = Date.now() - back;
    expect(measured.redisOutageConverged).toBeLessThan(convergeMs);
    expect(alive(a) && alive(b)).toBe(true);
  }, 60_000);

  it('a PostgreSQL restart ("terminating connection") no longer exits the node', async () => {
    // Idle pooled connections on both nodes, which the restart terminates.
    await Promise.all([
      health(a),
      api(a.url)('GET', '/api/live/active'),
      api(b.url)('GET', '/api/live/active'),
    ]);
    await pg.restart();
    await until(
      async () => (await api(a.url)('GET', '/api/live/active')).status === 200,
      convergeMs,
      'node A to read the database again',
    );
    await until(
      async () => (await api(b.url)('GET', '/api/live/active')).status === 200,
      convergeMs,
      'node B to read the database again',
    );
    await crosses('a1', 'b1');
    expect(alive(a) && alive(b)).toBe(true);
  }, 30_000);

  it('PostgreSQL down: requests fail fast with 503 and Retry-After, /api/ready says not ready, and all works again after', async () => {
    await pg.stop();
    const stoppedAt = Date.now();
    try {
      const [active, activeMs] = await timed(() => api(a.url)('GET', `/api/live/${streamId}`));
      measured.postgresDownFirst503 = activeMs;
      expect(active.status).toBe(503);
      expect(active.body).toMatchObject({ error: { code: 'unavailable' } });
      expect(Number(active.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(activeMs).toBeLessThan(failFastMs);

      const [signIn, signInMs] = await timed(() =>
        api(b.url)('POST', '/api/auth/login', {
          body: { username: users.b1.username, password: users.b1.password },
        }),
      );
      expect(signIn.status).toBe(503);
      expect(signInMs).toBeLessThan(failFastMs);

      const [ack, ackMs] = await timed(() =>
        emitAck(sockets.a1, 'live_comment', { streamId, comment: 'into the void' }),
      );
      expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      expect(ackMs).toBeLessThan(failFastMs);

      const notReady = await until(
        async () =>
          (await api(a.url)('GET', '/api/ready')).status === 503 &&
          (await api(b.url)('GET', '/api/ready')).status === 503,
        failFastMs,
        '/api/ready to say not ready on both nodes',
      );
      measured.postgresDownNotReady = Date.now() - stoppedAt;
      expect(notReady).toBeLessThan(failFastMs);
      const ready = await api(b.url)('GET', '/api/ready');
      expect(ready.headers.get('retry-after')).toBeTruthy();
      expect(await health(b)).toMatchObject({
        status: 'degraded',
        dependencies: { database: 'down', redis: 'ok' },
      });
      await mediaFlowsThrough(() => sleep(Math.max(0, outageMs - (Date.now() - stoppedAt))));
      expect(alive(a) && alive(b)).toBe(true);
    } finally {
      await pg.start();
    }
    const back = Date.now();
    await until(
      async () =>
        (await api(a.url)('GET', '/api/ready')).status === 200 &&
        (await api(b.url)('GET', '/api/ready')).status === 200,
      convergeMs,
      'both nodes to be ready again',
    );
    measured.postgresBackReady = Date.now() - back;
    await crosses('b1', 'a1');
    expect(alive(a) && alive(b)).toBe(true);
  }, 60_000);

  it('Redis unreachable at start no longer keeps a node from serving, and SIGTERM still stops it in time', async () => {
    const port = await freePort();
    const node = await startEntryPoint(await nodeEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    try {
      expect(await health(node)).toEqual({
        ok: false,
        status: 'degraded',
        dependencies: { database: 'ok', redis: 'down' },
      });
      expect((await api(node.url)('GET', '/api/ready')).status).toBe(200);
      const [user, registerMs] = await timed(() => registerUser(node));
      expect(registerMs).toBeLessThan(failFastMs);
      const signIn = await api(node.url)('POST', '/api/auth/login', {
        body: { username: user.username, password: user.password },
      });
      expect(signIn.status).toBe(200);

      const late = await PrivateRedis.start(port);
      try {
        measured.redisLateSeen = await until(
          async () => (await health(node)).dependencies.redis === 'ok',
          convergeMs,
          'the node to reach Redis once it is there',
        );
      } finally {
        await late.stop();
      }
      await until(
        async () => (await health(node)).dependencies.redis === 'down',
        failFastMs,
        'the node to see Redis gone again',
      );
      const [, stopMs] = await timed(async () => {
        node.child.kill('SIGTERM');
        expect(await node.exited).toBe(0);
      });
      measured.sigtermWithRedisDown = stopMs;
      expect(stopMs).toBeLessThan(5000);
    } finally {
      await node.stop();
    }
  }, 60_000);

  it('SIGTERM stops a node still starting up, while it waits for an unreachable Redis', async () => {
    const port = await freePort();
    const child = spawnEntryPoint(
      embeddedEnv({
        ...(await nodeEnv({ REDIS_URL: `redis://127.0.0.1:${port}` })),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      // Its first failed attempt at Redis is logged: it is in start-up, waiting.
      await until(() => output.includes('connection error'), 30_000, 'the node to try Redis');
      expect(output).not.toContain('live at');
      const [code, stopMs] = await timed(async () => {
        child.kill('SIGTERM');
        return exited;
      });
      measured.sigtermDuringStartUp = stopMs;
      expect(code).toBe(0);
      expect(stopMs).toBeLessThan(2000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('every EventEmitter of a client library has an error listener, and an error on any of them leaves the node serving', async () => {
    const server = await startTestServer({
      env: { DATABASE_URL: pg.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'faults-inspected' },
    });
    try {
      await until(
        () => server.dependencies().redis === 'ok',
        convergeMs,
        'the in-process node to reach Redis',
      );
      // Some traffic, so the pool holds connections of its own.
      await Promise.all([1, 2, 3].map(() => api(server.url)('GET', '/api/live/active')));
      const watched = server.clientEmitters.list();
      const names = new Set(watched.map((w) => w.name));
      expect(names).toEqual(
        new Set(['redis', 'redis subscriber', 'database pool', 'database connection']),
      );
      for (const { name, emitter } of watched)
        expect(emitter.listenerCount('error'), name).toBeGreaterThan(0);
      // Every connection the pool holds is among them, not only those seen at some moment.
      const pool = watched.find((w) => w.name === 'database pool')!.emitter as unknown as {
        _clients: object[];
      };
      expect(pool._clients.length).toBeGreaterThan(0);
      const emitters = new Set(watched.map((w) => w.emitter as object));
      for (const client of pool._clients) expect(emitters.has(client)).toBe(true);

      // An error nobody listened for would throw here (and end a real process).
      for (const { emitter } of watched) emitter.emit('error', new Error('injected by the test'));
      await until(
        async () => (await api(server.url)('GET', '/api/live/active')).status === 200,
        convergeMs,
        'the node to serve after the injected errors',
      );
    } finally {
      await server.close();
    }
  }, 60_000);

  it('no node exited during any of it', () => {
    expect(hasExited(a.pid) || hasExited(b.pid)).toBe(false);
  });
});
