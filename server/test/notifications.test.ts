/**
 * Followers find out (issue 18, point 5): a start tells each follower once, on every tab and node,
 * in one statement however many follow; the list, its unread count and marking read; private
 * streams and bans; an OBS publisher resuming within its grace period tells no one again.
 */
import type { LiveNotification, NotificationPage, Stream } from '@onair/protocol';
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  clusterEnv,
  collect,
  connectSocket,
  emitAck,
  endLive,
  engines,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';
import { notifications } from '../src/db/schema';
import { NotificationService } from '../src/live/notifications';
import { keyOf, publishWithKey } from './support/whip-peers';

const graceSeconds = 5;

describe.each(engines)('notifications on %s', (engine) => {
  let server: TestServer;
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  const request = () => api(server.url);

  beforeAll(async () => {
    server = await startTestServer({
      engine,
      env: { PUBLISHER_GRACE_SECONDS: String(graceSeconds) },
    });
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(() => server?.stop());

  const socketOf = async (user: TestUser | undefined): Promise<ClientSocket> => {
    const socket = await connectSocket(server, user?.token);
    cleanup.push(() => socket.close());
    return socket;
  };
  const follow = async (follower: TestUser, host: TestUser) =>
    expect(
      (await request()('POST', `/api/users/${host.user.id}/follow`, { token: follower.token }))
        .status,
    ).toBe(200);
  const start = async (host: TestUser, body: object = { title: 'going live' }) => {
    cleanup.push(() => endLive(server, host));
    const res = await request()<Stream>('POST', '/api/live/start', { token: host.token, body });
    expect(res.status).toBe(201);
    return res.body;
  };
  const list = async (user: TestUser, query = '') => {
    const res = await request()<NotificationPage>('GET', `/api/me/notifications${query}`, {
      token: user.token,
    });
    expect(res.status).toBe(200);
    return res.body;
  };
  const markRead = (user: TestUser, body: unknown) =>
    request()<{ unreadCount: number }>('POST', '/api/me/notifications/read', {
      token: user.token,
      body,
    });

  it('tells every tab of each online follower within 2 s, with the host and title, and no one else', async () => {
    const [host, fan, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await follow(fan, host);
    const [tab1, tab2, strangerTab, anonymous, hostTab] = await Promise.all([
      socketOf(fan),
      socketOf(fan),
      socketOf(stranger),
      socketOf(undefined),
      socketOf(host),
    ]);
    const elsewhere = [strangerTab, anonymous, hostTab].map((s) => collect(s, 'notification'));
    const arrivals = [tab1, tab2].map((s) => nextEvent(s, 'notification', undefined, 2000));
    const startedAt = Date.now();
    const stream = await start(host, { title: 'Morning run' });
    const [first, second] = await Promise.all(arrivals);
    const delayMs = Date.now() - startedAt;
    expect(delayMs).toBeLessThan(2000);
    expect(first).toEqual(second);
    expect(first).toMatchObject({
      kind: 'live_started',
      read: false,
      host: { id: host.user.id, username: host.username },
      stream: { streamId: stream.streamId, title: 'Morning run', status: 'live', isPrivate: false },
    });

    // The list has it under the same id, unread.
    const page = await list(fan);
    expect(page.unreadCount).toBe(1);
    expect(page.notifications).toEqual([first]);
    await sleep(300);
    expect(elsewhere.flat()).toEqual([]);
    expect((await list(stranger)).notifications).toEqual([]);
    expect((await list(host)).notifications).toEqual([]);
  });

  it('lists the newest first in pages, and marks read by id, up to a time, or all, only for their owner', async () => {
    const fan = await registerUser(server);
    const hosts = await Promise.all([1, 2, 3, 4].map(() => registerUser(server)));
    for (const host of hosts) await follow(fan, host);
    const streams: Stream[] = [];
    for (const [i, host] of hosts.entries()) {
      streams.push(await start(host, { title: `stream ${i}` }));
      // Each start is told in the background: wait for it before the next one starts.
      await expect.poll(async () => (await list(fan)).unreadCount).toBe(i + 1);
    }
    const all = await list(fan);
    const newestFirst = [...streams].reverse().map((s) => s.streamId);
    expect(all.notifications.map((n) => n.stream.streamId)).toEqual(newestFirst);
    expect(all.nextBefore).toBeNull();

    const firstPage = await list(fan, '?limit=3');
    expect(firstPage.notifications).toHaveLength(3);
    expect(firstPage.unreadCount).toBe(4);
    const rest = await list(fan, `?limit=3&before=${encodeURIComponent(firstPage.nextBefore!)}`);
    expect(
      [...firstPage.notifications, ...rest.notifications].map((n) => n.stream.streamId),
    ).toEqual(newestFirst);
    expect(rest.nextBefore).toBeNull();

    // Someone else marking this user's ids changes nothing.
    const other = await registerUser(server);
    const ids = all.notifications.map((n) => n.id);
    expect((await markRead(other, { ids })).body).toEqual({ unreadCount: 0 });
    expect((await list(fan)).unreadCount).toBe(4);

    const newest = all.notifications[0]!;
    expect((await markRead(fan, { ids: [newest.id] })).body).toEqual({ unreadCount: 3 });
    // Up to a time, inclusive: the second newest and older.
    expect((await markRead(fan, { before: all.notifications[2]!.createdAt })).body).toEqual({
      unreadCount: 1,
    });
    const read = (await list(fan)).notifications.map((n: LiveNotification) => n.read);
    expect(read).toEqual([true, false, true, true]);
    expect((await markRead(fan, { all: true })).body).toEqual({ unreadCount: 0 });
    // Once the host ends it, the list says so.
    await endLive(server, hosts[3]!);
    expect((await list(fan)).notifications[0]!.stream.status).toBe('ended');
  });

  it('refuses bad input and strangers clearly, changing nothing', async () => {
    const fan = await registerUser(server);
    expect((await request()('GET', '/api/me/notifications')).status).toBe(401);
    expect((await request()('GET', '/api/me/following/live')).status).toBe(401);
    expect(
      (await request()('POST', '/api/me/notifications/read', { body: { all: true } })).status,
    ).toBe(401);
    for (const query of ['?limit=0', '?limit=51', '?limit=x', '?before=yesterday']) {
      const res = await request()('GET', `/api/me/notifications${query}`, { token: fan.token });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe('invalid_input');
    }
    for (const body of [
      {},
      { ids: [] },
      { ids: ['not-a-uuid'] },
      { before: 'soon' },
      { all: false },
      { ids: [crypto.randomUUID()], all: true },
      'all',
    ]) {
      const res = await markRead(fan, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('tells only followers of a private stream, drops it from the list of one who unfollows, and skips banned followers', async () => {
    const [host, fan, banned, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await follow(banned, host);
    // A ban is given on one of the host's streams and holds for all of them.
    const earlier = await start(host, { title: 'earlier' });
    await expect.poll(async () => (await list(banned)).unreadCount).toBe(1);
    const ban = await request()('POST', `/api/live/${earlier.streamId}/moderation`, {
      token: host.token,
      body: { action: 'ban', userId: banned.user.id },
    });
    expect(ban.status).toBe(200);
    await endLive(server, host);
    await follow(fan, host);

    const [fanTab, bannedTab, strangerTab] = await Promise.all([
      socketOf(fan),
      socketOf(banned),
      socketOf(stranger),
    ]);
    const unwanted = [bannedTab, strangerTab].map((s) => collect(s, 'notification'));
    const arrival = nextEvent(fanTab, 'notification', undefined, 2000);
    const secret = await start(host, { title: 'followers only', isPrivate: true });
    expect((await arrival).stream).toMatchObject({ streamId: secret.streamId, isPrivate: true });
    // The home page's "Following" row.
    const following = await request()<Stream[]>('GET', '/api/me/following/live', {
      token: fan.token,
    });
    expect(following.body.map((s) => s.streamId)).toEqual([secret.streamId]);
    const strangerFollowing = await request()<Stream[]>('GET', '/api/me/following/live', {
      token: stranger.token,
    });
    expect(strangerFollowing.body).toEqual([]);

    await sleep(300);
    expect(unwanted.flat()).toEqual([]);
    expect((await list(stranger)).notifications).toEqual([]);
    expect((await list(banned)).notifications.map((n) => n.stream.streamId)).toEqual([
      earlier.streamId,
    ]);

    // Unfollowing hides what a private stream's notification would show (its title).
    await request()('DELETE', `/api/users/${host.user.id}/follow`, { token: fan.token });
    expect(await list(fan)).toEqual({ notifications: [], unreadCount: 0, nextBefore: null });
  });

  it('does not tell a follower of the same host again within ten minutes (a host ending and starting again)', async () => {
    const [host, fan, later] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await follow(fan, host);
    const fanTab = await socketOf(fan);
    const seen = collect(fanTab, 'notification');
    const first = await start(host, { title: 'take one' });
    await expect.poll(() => seen.length, { timeout: 2000 }).toBe(1);
    await endLive(server, host);
    // Someone who follows in between was not told yet: they are.
    await follow(later, host);
    const laterTab = await socketOf(later);
    const arrival = nextEvent(laterTab, 'notification', undefined, 2000);
    const second = await start(host, { title: 'take two' });
    expect((await arrival).stream.streamId).toBe(second.streamId);
    await sleep(300);
    expect(seen.map((n) => n.stream.streamId)).toEqual([first.streamId]);
    expect((await list(fan)).notifications.map((n) => n.stream.streamId)).toEqual([first.streamId]);
  });

  it('tells followers once when OBS starts with the persistent key, not again when it resumes within the grace period', async () => {
    await server.media.ready();
    const [host, fan] = await Promise.all([registerUser(server), registerUser(server)]);
    cleanup.push(() => endLive(server, host));
    await follow(fan, host);
    const key = await keyOf(server, host);
    const fanTab = await socketOf(fan);
    const seen = collect(fanTab, 'notification');
    const first = await publishWithKey(server, key, cleanup);
    expect(first.status).toBe(201);
    await expect.poll(() => seen.length, { timeout: 2000 }).toBe(1);
    expect(seen[0]!.stream.streamId).toBe(first.streamId);

    const watcher = await socketOf(fan);
    expect((await emitAck(watcher, 'join_live', { streamId: first.streamId })).ok).toBe(true);
    const reconnecting = nextEvent(watcher, 'broadcaster_reconnecting', undefined, 10_000);
    await first.publisher.close();
    await reconnecting;
    // The resume starts nothing (the quiet period alone would hide a second start from the fan).
    const starts: string[] = [];
    const onStarted = (stream: Stream) => starts.push(stream.streamId);
    server.events.on('stream_started', onStarted);
    cleanup.push(() => server.events.off('stream_started', onStarted));
    const resumed = nextEvent(watcher, 'broadcaster_resumed', undefined, 10_000);
    const second = await publishWithKey(server, key, cleanup);
    expect(second.streamId).toBe(first.streamId);
    await resumed;
    await sleep(500);
    expect(starts).toEqual([]);
    expect(seen).toHaveLength(1);
    expect((await list(fan)).notifications).toHaveLength(1);
  }, 60_000);

  it('tells 10,000 followers with one statement, not one round trip each', async () => {
    const [host, fan] = await Promise.all([registerUser(server), registerUser(server)]);
    await follow(fan, host);
    const db = server.database.db;
    await db.execute(sql`
      with fans as (
        insert into users (username, display_name, password_hash)
        select 'fan_' || substr(md5(random()::text), 1, 12) || '_' || g, 'Fan ' || g, 'x'
          from generate_series(1, 9999) g
        returning id)
      insert into follows (follower_id, followee_id) select id, ${host.user.id}::uuid from fans`);
    const fanTab = await socketOf(fan);
    const arrival = nextEvent(fanTab, 'notification', undefined, 15_000);
    const startedAt = Date.now();
    const stream = await start(host, { title: 'big audience' });
    await arrival;
    // Generous for a loaded machine: measured 0.8 s on PostgreSQL and 2.5 s on PGlite, start to arrival.
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    // A start reported twice tells no one twice, even with no quiet period: one per stream.
    const unhurried = new NotificationService(db, server.events, 0);
    expect(await unhurried.liveStarted(stream)).toEqual([]);
    const [counted] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(notifications)
      .where(eq(notifications.streamId, stream.streamId));
    expect(counted?.n).toBe(10_000);
  }, 60_000);
});

describe.runIf(Boolean(process.env.DATABASE_URL))('notifications across two nodes', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('reaches a follower whose socket is on the other node', async () => {
    const shared = clusterEnv();
    const a = await startTestServer({ engine: 'postgres', env: shared });
    cleanup.push(() => a.stop());
    const b = await startTestServer({ env: { ...shared, DATABASE_URL: a.databaseUrl! } });
    cleanup.push(() => b.close());
    const [host, fan] = await Promise.all([registerUser(a), registerUser(a)]);
    await api(b.url)('POST', `/api/users/${host.user.id}/follow`, { token: fan.token });
    const [onB, onA] = await Promise.all([
      connectSocket(b, fan.token),
      connectSocket(a, fan.token),
    ]);
    cleanup.push(() => onB.close());
    cleanup.push(() => onA.close());
    // The bus is joined in the background: wait until a node's broadcast reaches the other.
    await expect
      .poll(async () => {
        const heard = nextEvent(onB, 'notification', undefined, 300).then(
          () => true,
          () => false,
        );
        a.io.to(`user:${fan.user.id}`).emit('notification', {
          id: 'probe',
        } as unknown as LiveNotification);
        return heard;
      })
      .toBe(true);
    const arrivals = [onB, onA].map((s) =>
      nextEvent(s, 'notification', (n) => n.id !== 'probe', 2000),
    );
    cleanup.push(() => endLive(a, host));
    const started = await api(a.url)<Stream>('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'across nodes' },
    });
    const [fromB, fromA] = await Promise.all(arrivals);
    expect(fromB?.stream.streamId).toBe(started.body.streamId);
    expect(fromA).toEqual(fromB);
  }, 30_000);
});
