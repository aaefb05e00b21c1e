import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
} from './support/server';

/** Requests as if from `address`, through a proxy on loopback that the server trusts. */
const from = (address: string) => ({ 'x-forwarded-for': address });

describe('abuse limits', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });
  const start = async (env: Record<string, string>) => {
    const server = await startTestServer({ env: { TRUST_PROXY: 'loopback', ...env } });
    servers.push(server);
    return server;
  };
  const login = (server: TestServer, username: string, password: string, address = '10.0.0.1') =>
    api(server.url)('POST', '/api/auth/login', {
      body: { username, password },
      headers: from(address),
    });

  it('limits failed sign-ins per username with 429 rate_limited and Retry-After; right passwords do not count', async () => {
    const server = await start({
      LOGIN_FAILURES_PER_USERNAME: '3',
      LOGIN_FAILURES_PER_USERNAME_WINDOW_SECONDS: '600',
    });
    const victim = await registerUser(server);
    const bystander = await registerUser(server);
    // Successes give their points back: more sign-ins than the budget all pass.
    for (let i = 0; i < 5; i += 1)
      expect((await login(server, victim.username, victim.password)).status).toBe(200);

    // Guesses from different addresses all count against the one account.
    for (let i = 0; i < 3; i += 1)
      expect((await login(server, victim.username, 'wrong password', `10.0.1.${i}`)).status).toBe(
        401,
      );
    const refused = await login(server, victim.username.toUpperCase(), 'wrong password');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringMatching(/failed sign-ins/),
        retryAfterSeconds: expect.any(Number),
      },
    });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(500);
    expect(retryAfter).toBeLessThanOrEqual(600);
    // Locked for now, even with the right password; nobody else is.
    expect((await login(server, victim.username, victim.password)).status).toBe(429);
    expect((await login(server, bystander.username, bystander.password)).status).toBe(200);
  });

  it('cuts a burst of parallel guesses off at the budget, before any password is checked', async () => {
    const server = await start({ LOGIN_FAILURES_PER_USERNAME: '3' });
    const victim = await registerUser(server);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        login(server, victim.username, `guess ${i}`, `10.0.2.${i}`),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(17);
  });

  it('limits failed sign-ins per address (an IPv6 /64 is one address), not others', async () => {
    const server = await start({ LOGIN_FAILURES_PER_IP: '3' });
    const user = await registerUser(server);
    for (const name of ['nobody_a', 'nobody_b', 'nobody_c'])
      expect((await login(server, name, 'wrong password', '2001:db8:0:7::1')).status).toBe(401);
    // Another address in the same /64 shares the budget; a different /64 does not.
    const refused = await login(server, user.username, user.password, '2001:db8:0:7:ffff::2');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect((await login(server, user.username, user.password, '2001:db8:0:8::1')).status).toBe(200);
    expect((await login(server, user.username, user.password, '10.0.3.1')).status).toBe(200);
  });

  it('believes X-Forwarded-For only from a proxy it was told to trust', async () => {
    const server = await startTestServer({ env: { LOGIN_FAILURES_PER_IP: '2' } });
    servers.push(server);
    for (const address of ['10.0.8.1', '10.0.8.2'])
      expect((await login(server, 'nobody_x', 'wrong password', address)).status).toBe(401);
    // A forged header does not give the same client a fresh budget.
    expect((await login(server, 'nobody_y', 'wrong password', '10.0.8.3')).status).toBe(429);
  });

  it('limits registrations per address; a refused registration creates nothing', async () => {
    const server = await start({ REGISTRATIONS_PER_IP: '2' });
    const register = (username: string, address: string) =>
      api(server.url)('POST', '/api/auth/register', {
        body: { username, password: 'correct horse battery' },
        headers: from(address),
      });
    expect((await register(uniqueName(), '10.0.4.1')).status).toBe(201);
    expect((await register(uniqueName(), '10.0.4.1')).status).toBe(201);
    const refusedName = uniqueName();
    const refused = await register(refusedName, '10.0.4.1');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await login(server, refusedName, 'correct horse battery', '10.0.4.2')).status).toBe(
      401,
    );
    // A school behind another address is not affected.
    expect((await register(refusedName, '10.0.4.2')).status).toBe(201);
  });

  it("does not let a burst of sign-ins from one address hold up another address's sign-in", async () => {
    // One hash at a time makes the order of service visible.
    const server = await start({ PASSWORD_HASH_CONCURRENCY: '1' });
    const users = [];
    for (let i = 0; i < 13; i += 1) users.push(await registerUser(server));
    const [late, ...burst] = users as [(typeof users)[0], ...typeof users];
    const finished: string[] = [];
    const track = (who: string, res: Promise<{ status: number }>) =>
      res.then((r) => {
        expect(r.status).toBe(200);
        finished.push(who);
      });
    const burstDone = burst.map((u, i) =>
      track(`burst ${i}`, login(server, u.username, u.password, '10.0.5.1')),
    );
    // Sent once the whole burst waits in line, from elsewhere: it still gets one of the next turns
    // (a first-come queue would serve it last).
    await new Promise((r) => setTimeout(r, 150));
    const servedBefore = finished.length;
    expect(servedBefore).toBeLessThan(burst.length - 4);
    const lateDone = track('late', login(server, late.username, late.password, '10.0.5.2'));
    await Promise.all([...burstDone, lateDone]);
    // Served within a couple of turns of arriving (one more for a response still on its way when
    // it was sent), not after the rest of the burst.
    expect(finished.indexOf('late')).toBeLessThanOrEqual(servedBefore + 3);
  });

  it('bounds the password work waiting: one address at once gets 429, everyone at once 503', async () => {
    // One hash at a time and four waiting, at most two of them from one address.
    const server = await start({ PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '4' });
    const register = (address: string) =>
      api(server.url)('POST', '/api/auth/register', {
        body: { username: uniqueName(), password: 'correct horse battery' },
        headers: from(address),
      });
    const burst = await Promise.all(Array.from({ length: 8 }, () => register('10.0.6.1')));
    const tooMany = burst.filter((r) => r.status !== 201);
    expect(tooMany.length).toBeGreaterThan(0);
    for (const r of tooMany) {
      expect(r.status).toBe(429);
      expect(r.body.error).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 1 });
      expect(r.headers.get('retry-after')).toBe('1');
    }

    const crowd = await Promise.all(
      ['10.0.7.1', '10.0.7.2', '10.0.7.3', '10.0.7.4'].flatMap((a) => [register(a), register(a)]),
    );
    const busy = crowd.filter((r) => r.status !== 201);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expect(r.status).toBe(503);
      expect(r.body.error).toMatchObject({ code: 'unavailable', retryAfterSeconds: 1 });
      expect(r.headers.get('retry-after')).toBe('1');
    }
  });

  it('limits joins and leaves per socket, not per user', async () => {
    const server = await start({ JOIN_LEAVE_PER_SOCKET: '4' });
    const host = await registerUser(server);
    const viewer = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'flip' },
    });
    const streamId = started.body.streamId;
    const flipper = await connectSocket(server, viewer.token);
    const calm = await connectSocket(server, viewer.token);
    try {
      const acks = [];
      for (let i = 0; i < 3; i += 1) {
        acks.push(await emitAck(flipper, 'join_live', { streamId }));
        acks.push(await emitAck(flipper, 'leave_live', { streamId }));
      }
      expect(acks.map((a) => a.ok)).toEqual([true, true, true, true, false, false]);
      expect(acks[4].error).toMatchObject({
        code: 'rate_limited',
        retryAfterSeconds: expect.any(Number),
      });
      // The refused join changed nothing; the user's other tab still joins.
      const details = await api(server.url)('GET', `/api/live/${streamId}`);
      expect(details.body.viewerCount).toBe(0);
      expect(await emitAck(calm, 'join_live', { streamId })).toMatchObject({
        ok: true,
        viewerCount: 1,
      });
    } finally {
      flipper.close();
      calm.close();
    }
  });

  it('cuts one address flooding the API off at API_REQUESTS_PER_IP (any route cost database work for any caller, without limit); others and health checks go on', async () => {
    const server = await start({
      API_REQUESTS_PER_IP: '20',
      API_REQUESTS_PER_IP_WINDOW_SECONDS: '60',
    });
    const request = api(server.url);
    const flood = await Promise.all(
      Array.from({ length: 30 }, () =>
        request('GET', '/api/live/active', { headers: from('10.0.9.1') }),
      ),
    );
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const refused = flood.find((r) => r.status === 429);
    expect(refused?.body).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringMatching(/Too many requests/),
        retryAfterSeconds: expect.any(Number),
      },
    });
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Refused before the body is read: a bad body is not even looked at.
    const unread = await request('POST', '/api/auth/login', {
      rawBody: '{not json',
      headers: { ...from('10.0.9.1'), 'content-type': 'application/json' },
    });
    expect(unread.status).toBe(429);
    // Another address, and the health checks from the flooding one, are served.
    expect((await request('GET', '/api/live/active', { headers: from('10.0.9.2') })).status).toBe(
      200,
    );
    expect((await request('GET', '/api/health', { headers: from('10.0.9.1') })).status).toBe(200);
    expect((await request('GET', '/api/ready', { headers: from('10.0.9.1') })).status).toBe(200);
  });

  it('refuses budgets that make no sense at start-up, naming the variable', async () => {
    await expect(start({ LOGIN_FAILURES_PER_USERNAME: '0' })).rejects.toThrow(
      /LOGIN_FAILURES_PER_USERNAME/,
    );
    await expect(start({ VIEW_LEASE_SECONDS: 'soon' })).rejects.toThrow(/VIEW_LEASE_SECONDS/);
  });
});

// Every node counts against the same budgets when they share a Redis.
const canShare = Boolean(process.env.DATABASE_URL);

describe.runIf(canShare)('abuse limits on two nodes sharing Redis', () => {
  it('counts failed sign-ins on either node against one budget', async () => {
    const env = {
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `onair-test-${randomBytes(6).toString('hex')}`,
      LOGIN_FAILURES_PER_USERNAME: '3',
    };
    const a = await startTestServer({ env });
    const b = await startTestServer({ env });
    try {
      const attempt = (node: TestServer) =>
        api(node.url)('POST', '/api/auth/login', {
          body: { username: 'shared_victim', password: 'wrong password' },
        });
      expect((await attempt(a)).status).toBe(401);
      expect((await attempt(b)).status).toBe(401);
      expect((await attempt(a)).status).toBe(401);
      expect((await attempt(b)).status).toBe(429);
      expect((await attempt(a)).status).toBe(429);
      // Another deployment on the same Redis (another key prefix) counts on its own.
      const other = await startTestServer({
        env: { ...env, REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX}-other` },
      });
      try {
        expect((await attempt(other)).status).toBe(401);
      } finally {
        await other.stop();
      }
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
