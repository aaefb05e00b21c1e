import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomCountIntervalMs } from '../src/realtime/broadcasts';
import {
  api,
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

describe.each(engines)('viewers and counts on %s', (engine) => {
  let server: TestServer;
  let host: TestUser;
  const request = () => api(server.url);

  beforeAll(async () => {
    server = await startTestServer({ engine });
    host = await registerUser(server);
  });
  afterAll(() => server.stop());

  const start = async () => {
    await endLive(server, host);
    const started = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'presence' },
    });
    return started.body.streamId as string;
  };

  it('counts 40 users joining at the same moment exactly (REST and sockets mixed)', async () => {
    const streamId = await start();
    const users = await Promise.all(Array.from({ length: 40 }, () => registerUser(server)));
    const sockets = await Promise.all(users.slice(20).map((u) => connectSocket(server, u.token)));
    const watcher = await connectSocket(server, host.token);
    await emitAck(watcher, 'join_live', { streamId });
    const counts = collect(watcher, 'viewer_count');
    const joining = performance.now();
    await Promise.all([
      ...users
        .slice(0, 20)
        .map((u) => request()('POST', `/api/live/${streamId}/view`, { token: u.token })),
      ...sockets.map((s) => emitAck(s, 'join_live', { streamId })),
    ]);
    const joinedMs = performance.now() - joining;
    const details = await request()('GET', `/api/live/${streamId}`, { token: host.token });
    expect(details.body.viewerCount).toBe(40);
    expect(details.body.peakViewers).toBe(40);
    expect(details.body.viewers).toHaveLength(40);
    await sleep(roomCountIntervalMs * 2);
    // The room heard the count coalesced (at most one message per interval, not one per join),
    // and the last it heard is the exact count.
    expect(counts.length).toBeLessThan(40);
    expect(counts.length).toBeLessThanOrEqual(Math.ceil(joinedMs / roomCountIntervalMs) + 2);
    expect(counts.at(-1)).toEqual({ streamId, viewerCount: 40 });

    await Promise.all([
      ...users
        .slice(0, 20)
        .map((u) => request()('POST', `/api/live/${streamId}/leave`, { token: u.token })),
      ...sockets.map((s) => s.close()),
    ]);
    const deadline = Date.now() + 5000;
    const asHost = { token: host.token };
    let after = await request()('GET', `/api/live/${streamId}`, asHost);
    while (after.body.viewerCount !== 0 && Date.now() < deadline) {
      await sleep(100);
      after = await request()('GET', `/api/live/${streamId}`, asHost);
    }
    expect(after.body.viewerCount).toBe(0);
    expect(after.body.peakViewers).toBe(40);
    expect(after.body.viewers.every((v: any) => v.leftAt !== null)).toBe(true);
    watcher.close();
  }, 60_000);

  it('counts a user with several tabs once, until the last tab goes', async () => {
    const streamId = await start();
    const viewer = await registerUser(server);
    const watcher = await connectSocket(server, host.token);
    await emitAck(watcher, 'join_live', { streamId });
    const tabs = await Promise.all([1, 2, 3].map(() => connectSocket(server, viewer.token)));
    const joined = nextEvent(watcher, 'viewer_joined');
    for (const tab of tabs)
      expect((await emitAck(tab, 'join_live', { streamId })).viewerCount).toBe(1);
    expect(await joined).toEqual({ streamId, userId: viewer.user.id, username: viewer.username });
    await request()('POST', `/api/live/${streamId}/view`, { token: viewer.token });
    const count = async () => (await request()('GET', `/api/live/${streamId}`)).body.viewerCount;
    expect(await count()).toBe(1);

    const left = collect(watcher, 'viewer_left');
    await emitAck(tabs[0]!, 'leave_live', { streamId });
    tabs[1]!.close();
    await request()('POST', `/api/live/${streamId}/leave`, { token: viewer.token });
    await sleep(300);
    expect(await count()).toBe(1);
    expect(left).toEqual([]);

    const gone = nextEvent(watcher, 'viewer_left');
    const zero = nextEvent(watcher, 'viewer_count', (c) => c.viewerCount === 0);
    tabs[2]!.close();
    expect(await gone).toEqual({ streamId, userId: viewer.user.id, username: viewer.username });
    expect(await zero).toEqual({ streamId, viewerCount: 0 });
    expect(await count()).toBe(0);

    // Coming back reopens the viewer's record.
    await request()('POST', `/api/live/${streamId}/view`, { token: viewer.token });
    const details = await request()('GET', `/api/live/${streamId}`, { token: host.token });
    expect(details.body.viewers[0]).toMatchObject({ leftAt: null });
    watcher.close();
  });

  // The count moves by one per first tab in and last tab out; a slip anywhere would stay.
  it('keeps the count equal to the viewers present through a churn of tabs in and out', async () => {
    const streamId = await start();
    const users = await Promise.all(Array.from({ length: 8 }, () => registerUser(server)));
    const tabs = await Promise.all(
      users.flatMap((user) =>
        [0, 1].map(async () => ({
          user,
          socket: await connectSocket(server, user.token),
          joined: false,
        })),
      ),
    );
    // A fixed pseudo-random walk, so a failure replays.
    let seed = 11;
    const next = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    for (let round = 0; round < 10; round++) {
      // Six different tabs at once, each doing one thing.
      const picked = new Set<number>();
      while (picked.size < 6) picked.add(next(tabs.length));
      await Promise.all(
        [...picked].map(async (index) => {
          const tab = tabs[index]!;
          const move = next(3);
          if (move === 0) {
            tab.joined = true;
            await emitAck(tab.socket, 'join_live', { streamId });
          } else if (move === 1) {
            tab.joined = false;
            await emitAck(tab.socket, 'leave_live', { streamId });
          } else {
            // The tab closes and a new one opens in its place, not joined yet.
            tab.joined = false;
            tab.socket.close();
            tab.socket = await connectSocket(server, tab.user.token);
          }
        }),
      );
    }
    const present = new Set(tabs.filter((t) => t.joined).map((t) => t.user.user.id));
    const details = async () =>
      (await request()('GET', `/api/live/${streamId}`, { token: host.token })).body;
    await expect.poll(async () => (await details()).viewerCount).toBe(present.size);
    const stillWatching = (await details()).viewers
      .filter((v: any) => v.leftAt === null)
      .map((v: any) => v.user.id)
      .sort();
    expect(stillWatching).toEqual([...present].sort());
    for (const tab of tabs) tab.socket.close();
    await expect.poll(async () => (await details()).viewerCount).toBe(0);
  });

  it('never counts the host', async () => {
    const streamId = await start();
    const tab = await connectSocket(server, host.token);
    const res = await emitAck(tab, 'join_live', { streamId });
    expect(res).toMatchObject({ ok: true, viewerCount: 0 });
    await request()('POST', `/api/live/${streamId}/view`, { token: host.token });
    expect((await request()('GET', `/api/live/${streamId}`)).body).toMatchObject({
      viewerCount: 0,
      peakViewers: 0,
      viewers: [],
    });
    tab.close();
  });

  it('holds a REST view as a lease: renewed by viewing again, dropped when not renewed', async () => {
    const leased = await startTestServer({ engine, env: { VIEW_LEASE_SECONDS: '1' } });
    const r = api(leased.url);
    const sockets: ClientSocket[] = [];
    try {
      const [owner, viewer, both] = await Promise.all([
        registerUser(leased),
        registerUser(leased),
        registerUser(leased),
      ]);
      const started = await r('POST', '/api/live/start', {
        token: owner.token,
        body: { title: 'lease' },
      });
      const streamId: string = started.body.streamId;
      const watcher = await connectSocket(leased, owner.token);
      sockets.push(watcher);
      await emitAck(watcher, 'join_live', { streamId });
      const view = await r('POST', `/api/live/${streamId}/view`, { token: viewer.token });
      expect(view.body).toMatchObject({ success: true, viewerCount: 1, leaseSeconds: 1 });
      // A lease beside a socket: when the lease lapses the socket still holds its user.
      await r('POST', `/api/live/${streamId}/view`, { token: both.token });
      const bothSocket = await connectSocket(leased, both.token);
      sockets.push(bothSocket);
      await emitAck(bothSocket, 'join_live', { streamId });
      const count = async () => (await r('GET', `/api/live/${streamId}`)).body.viewerCount;
      const left = collect(watcher, 'viewer_left');
      for (let i = 0; i < 5; i += 1) {
        await sleep(500);
        expect(
          (await r('POST', `/api/live/${streamId}/view`, { token: viewer.token })).status,
        ).toBe(200);
      }
      expect(await count()).toBe(2);
      expect(left).toEqual([]);

      // Not renewed: the viewer goes once the lease lapses, as if they had left.
      const gone = await nextEvent(watcher, 'viewer_left', () => true, 4000);
      expect(gone).toEqual({ streamId, userId: viewer.user.id, username: viewer.username });
      expect(await count()).toBe(1);
      const details = await r('GET', `/api/live/${streamId}`, { token: owner.token });
      const record = details.body.viewers.find((v: any) => v.user.id === viewer.user.id);
      expect(record.leftAt).not.toBeNull();
    } finally {
      for (const socket of sockets) socket.close();
      await leased.stop();
    }
  });

  it('takes an ex-follower out of the private stream of the host they unfollow, and keeps them out', async () => {
    const [owner, ex, loyal] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    for (const user of [ex, loyal])
      await request()('POST', `/api/users/${owner.user.id}/follow`, { token: user.token });
    const started = await request()('POST', '/api/live/start', {
      token: owner.token,
      body: { title: 'friends', isPrivate: true },
    });
    const streamId: string = started.body.streamId;
    const hostSocket = await connectSocket(server, owner.token);
    const exTabs = [await connectSocket(server, ex.token), await connectSocket(server, ex.token)];
    const loyalSocket = await connectSocket(server, loyal.token);
    try {
      await emitAck(hostSocket, 'join_live', { streamId });
      for (const tab of exTabs)
        expect((await emitAck(tab, 'join_live', { streamId })).ok).toBe(true);
      await request()('POST', `/api/live/${streamId}/view`, { token: ex.token });
      await emitAck(loyalSocket, 'join_live', { streamId });
      const count = async () =>
        (await request()('GET', `/api/live/${streamId}`, { token: owner.token })).body.viewerCount;
      expect(await count()).toBe(2);

      const told = exTabs.map((tab) => nextEvent(tab, 'live_access_revoked'));
      const left = nextEvent(hostSocket, 'viewer_left', (e) => e.userId === ex.user.id);
      const unfollowed = await request()('DELETE', `/api/users/${owner.user.id}/follow`, {
        token: ex.token,
      });
      expect(unfollowed.status).toBe(200);
      for (const notice of told) expect(await notice).toEqual({ streamId });
      expect(await left).toEqual({ streamId, userId: ex.user.id, username: ex.username });
      expect(await count()).toBe(1);

      // Out of the room: what the room hears no longer reaches any of their tabs, nor does the
      // stream's count meant for the list of those who may see it.
      const exHeard = exTabs.map((tab) => collect(tab, 'live_comment_added'));
      const exCounts = exTabs.map((tab) => collect(tab, 'viewer_count'));
      const loyalHeard = nextEvent(loyalSocket, 'live_comment_added');
      await emitAck(hostSocket, 'live_comment', { streamId, comment: 'followers only' });
      await loyalHeard;
      const stranger = await registerUser(server);
      await request()('POST', `/api/users/${owner.user.id}/follow`, { token: stranger.token });
      await request()('POST', `/api/live/${streamId}/view`, { token: stranger.token });
      await sleep(1500);
      for (const heard of [...exHeard, ...exCounts]) expect(heard).toEqual([]);
      await request()('POST', `/api/live/${streamId}/leave`, { token: stranger.token });

      // And no way back in, as for anyone who does not follow the host.
      expect(await emitAck(exTabs[0]!, 'join_live', { streamId })).toMatchObject({
        ok: false,
        error: { code: 'followers_only' },
      });
      expect(
        (await request()('POST', `/api/live/${streamId}/view`, { token: ex.token })).status,
      ).toBe(403);
      expect(
        await emitAck(exTabs[1]!, 'live_comment', { streamId, comment: 'still here?' }),
      ).toMatchObject({ ok: false, error: { code: 'followers_only' } });
      expect(await count()).toBe(1);
    } finally {
      for (const socket of [hostSocket, loyalSocket, ...exTabs]) socket.close();
    }
  });

  if (engine === 'postgres') {
    it('shares presence between two nodes on one database', async () => {
      // Nodes that share users share the signing key (JWT_SECRET), as the README says.
      const env = { JWT_SECRET: 'shared-secret-for-two-nodes-of-one-cluster' };
      const first = await startTestServer({ engine, env });
      const second = await startTestServer({ env: { ...env, DATABASE_URL: first.databaseUrl! } });
      try {
        const owner = await registerUser(first);
        const started = await api(first.url)('POST', '/api/live/start', {
          token: owner.token,
          body: { title: 'two nodes' },
        });
        const streamId = started.body.streamId;
        const [a, b] = await Promise.all([registerUser(first), registerUser(second)]);
        const onA = await connectSocket(first, a.token);
        const onB = await connectSocket(second, b.token);
        expect((await emitAck(onA, 'join_live', { streamId })).viewerCount).toBe(1);
        expect((await emitAck(onB, 'join_live', { streamId })).viewerCount).toBe(2);
        for (const node of [first, second]) {
          expect((await api(node.url)('GET', `/api/live/${streamId}`)).body.viewerCount).toBe(2);
        }
        onA.close();
        onB.close();
      } finally {
        await second.close();
        await first.stop();
      }
    });
  }
});
