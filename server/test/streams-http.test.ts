import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  connectSocket,
  emitAck,
  endLive,
  engines,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

const streamKeys = [
  'createdAt',
  'description',
  'duration',
  'endedAt',
  'host',
  'isPrivate',
  'media',
  'peakViewers',
  'startedAt',
  'status',
  'streamId',
  'tags',
  'thumbnail',
  'title',
  'updatedAt',
  'viewerCount',
];

describe.each(engines)('live streams over REST on %s', (engine) => {
  let server: TestServer;
  let host: TestUser;
  /** A second host, for tests that need two streams live at once (one each). */
  let otherHost: TestUser;
  let follower: TestUser;
  let stranger: TestUser;
  const request = () => api(server.url);

  beforeAll(async () => {
    // Chat limits are tested in the realtime suite; here they would only get in the way.
    server = await startTestServer({
      engine,
      rateLimits: { comments: { points: 100, durationSeconds: 1 } },
    });
    [host, otherHost, follower, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await request()('POST', `/api/users/${host.user.id}/follow`, { token: follower.token });
    await request()('POST', `/api/users/${otherHost.user.id}/follow`, { token: follower.token });
  });
  afterEach(() => Promise.all([endLive(server, host), endLive(server, otherHost)]));
  afterAll(() => server.stop());

  const start = async (body: object, owner = host) => {
    const res = await request()('POST', '/api/live/start', { token: owner.token, body });
    expect(res.status).toBe(201);
    return res.body;
  };

  it('starts a stream with the one Stream shape, plus the host-only publishing credentials', async () => {
    const started = await start({
      title: '  Morning run  ',
      description: 'hi',
      tags: ['Run', 'run', 'outdoors'],
    });
    expect(Object.keys(started).sort()).toEqual([...streamKeys, 'streamKey', 'whipUrl'].sort());
    expect(started).toMatchObject({
      title: 'Morning run',
      status: 'live',
      isPrivate: false,
      viewerCount: 0,
      peakViewers: 0,
      duration: 0,
      endedAt: null,
      host: { id: host.user.id, username: host.username },
    });
    // Tags that differ only in case are one tag.
    expect(started.tags).toHaveLength(2);
    expect(started.tags).toContain('outdoors');
    const details = await request()('GET', `/api/live/${started.streamId}`);
    expect(Object.keys(details.body).sort()).toEqual(
      [...streamKeys, 'viewers', 'recording', 'hlsUrl'].sort(),
    );
    // The stream key is shown once, to the host, and never again.
    expect(JSON.stringify(details.body)).not.toContain(started.streamKey);
    const active = await request()('GET', '/api/live/active');
    expect(
      Object.keys(active.body.find((s: any) => s.streamId === started.streamId)).sort(),
    ).toEqual(streamKeys);
  });

  it('gives a host one live stream at a time: another start is 409 already_live with its id', async () => {
    const live = await start({ title: 'first' });
    const again = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'second' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: { code: 'already_live', message: expect.any(String), streamId: live.streamId },
    });
    // The same over the socket, in the acknowledgement.
    const socket = await connectSocket(server, host.token);
    try {
      expect(await emitAck(socket, 'start_live', { title: 'third' })).toEqual({
        ok: false,
        error: { code: 'already_live', message: expect.any(String), streamId: live.streamId },
      });
    } finally {
      socket.close();
    }
    // Nothing was created by the refused starts; other hosts are not affected.
    const mine = await request()('GET', `/api/live/user/${host.user.id}`, { token: host.token });
    expect(mine.body.filter((s: any) => s.status === 'live').map((s: any) => s.streamId)).toEqual([
      live.streamId,
    ]);
    expect((await start({ title: 'elsewhere' }, otherHost)).status).toBe('live');

    // Starts racing each other: one wins, the others are told which.
    await request()('POST', `/api/live/end/${live.streamId}`, { token: host.token });
    const racing = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        request()('POST', '/api/live/start', { token: host.token, body: { title: `race ${i}` } }),
      ),
    );
    const won = racing.filter((r) => r.status === 201);
    expect(won).toHaveLength(1);
    for (const lost of racing.filter((r) => r.status !== 201)) {
      expect(lost.status).toBe(409);
      expect(lost.body.error).toMatchObject({
        code: 'already_live',
        streamId: won[0]!.body.streamId,
      });
    }
  });

  it('applies the private rules everywhere: lists, details, user streams, view, comment, history', async () => {
    const privateStream = await start({ title: 'followers only', isPrivate: true });
    const publicStream = await start({ title: 'everyone' }, otherHost);
    const id = privateStream.streamId;
    const cases: [string, TestUser | undefined, boolean][] = [
      ['anonymous', undefined, false],
      ['stranger', stranger, false],
      ['follower', follower, true],
      ['host', host, true],
    ];
    for (const [who, user, allowed] of cases) {
      const token = user?.token;
      const active = (await request()('GET', '/api/live/active', { token })).body.map(
        (s: any) => s.streamId,
      );
      expect(active.includes(id), `${who} list`).toBe(allowed);
      expect(active.includes(publicStream.streamId), `${who} public`).toBe(true);
      const byUser = (await request()('GET', `/api/live/user/${host.user.id}`, { token })).body.map(
        (s: any) => s.streamId,
      );
      expect(byUser.includes(id), `${who} user streams`).toBe(allowed);
      // Outsiders are told whose stream it is (403 followers_only), nothing more.
      expect((await request()('GET', `/api/live/${id}`, { token })).status, `${who} details`).toBe(
        allowed ? 200 : 403,
      );
      expect(
        (await request()('GET', `/api/live/${id}/comments`, { token })).status,
        `${who} history`,
      ).toBe(allowed ? 200 : 403);
      if (user) {
        expect(
          (await request()('POST', `/api/live/${id}/view`, { token })).status,
          `${who} view`,
        ).toBe(allowed ? 200 : 403);
        expect(
          (await request()('POST', `/api/live/${id}/comment`, { token, body: { comment: 'hi' } }))
            .status,
          `${who} comment`,
        ).toBe(allowed ? 201 : 403);
      } else {
        expect((await request()('POST', `/api/live/${id}/view`)).status).toBe(401);
        expect(
          (await request()('POST', `/api/live/${id}/comment`, { body: { comment: 'hi' } })).status,
        ).toBe(401);
      }
    }
  });

  it('lets only the host end a stream; an ended stream cannot be viewed or commented', async () => {
    const stream = await start({ title: 'short' });
    const privateStream = await start({ title: 'short and private', isPrivate: true }, otherHost);
    const id = stream.streamId;
    expect(
      (await request()('POST', `/api/live/${id}/view`, { token: stranger.token })).body.viewerCount,
    ).toBe(1);
    expect((await request()('POST', `/api/live/end/${id}`)).status).toBe(401);
    expect((await request()('POST', `/api/live/end/${id}`, { token: stranger.token })).status).toBe(
      403,
    );
    expect((await request()('POST', `/api/live/end/${id}`, { token: follower.token })).status).toBe(
      403,
    );
    // Someone who may not see a private stream cannot learn it exists by trying to end it.
    expect(
      (
        await request()('POST', `/api/live/end/${privateStream.streamId}`, {
          token: stranger.token,
        })
      ).status,
    ).toBe(404);
    await new Promise((r) => setTimeout(r, 1100));
    const ended = await request()('POST', `/api/live/end/${id}`, { token: host.token });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ status: 'ended', viewerCount: 0, peakViewers: 1 });
    expect(ended.body.duration).toBeGreaterThanOrEqual(1);
    expect(ended.body.endedAt).not.toBeNull();
    expect((await request()('POST', `/api/live/end/${id}`, { token: host.token })).status).toBe(
      409,
    );
    for (const [path, body] of [
      [`/api/live/${id}/view`, undefined],
      [`/api/live/${id}/comment`, { comment: 'late' }],
    ] as const) {
      const res = await request()('POST', path, { token: follower.token, body });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('stream_ended');
    }
    const active = (await request()('GET', '/api/live/active')).body.map((s: any) => s.streamId);
    expect(active).not.toContain(id);
    // Who watched is the host's to know; anyone else gets the list empty.
    expect((await request()('GET', `/api/live/${id}`)).body.viewers).toEqual([]);
    expect(
      (await request()('GET', `/api/live/${id}`, { token: follower.token })).body.viewers,
    ).toEqual([]);
    const details = await request()('GET', `/api/live/${id}`, { token: host.token });
    expect(details.body.viewers).toEqual([
      expect.objectContaining({
        user: expect.objectContaining({ id: stranger.user.id }),
        leftAt: expect.any(String),
      }),
    ]);
    // Ended streams still show in the host's history.
    const history = (await request()('GET', `/api/live/user/${host.user.id}`)).body.map(
      (s: any) => s.streamId,
    );
    expect(history).toContain(id);
    expect(
      (await request()('GET', '/api/live/user/6b1f1a8e-3c1d-4c7a-9c55-1d2f4a0b9e10')).status,
    ).toBe(404);
  });

  it('records views and leaves, and pages comment history', async () => {
    const stream = await start({ title: 'chatty' });
    const id = stream.streamId;
    const view = await request()('POST', `/api/live/${id}/view`, { token: follower.token });
    expect(view.body).toMatchObject({ success: true, viewerCount: 1 });
    // The host watching their own stream is not a viewer.
    expect(
      (await request()('POST', `/api/live/${id}/view`, { token: host.token })).body.viewerCount,
    ).toBe(1);
    expect(
      (await request()('POST', `/api/live/${id}/leave`, { token: follower.token })).body,
    ).toEqual({ success: true });
    const details = await request()('GET', `/api/live/${id}`, { token: host.token });
    expect(details.body.viewerCount).toBe(0);
    expect(details.body.peakViewers).toBe(1);
    expect(details.body.viewers[0].leftAt).not.toBeNull();

    for (let i = 0; i < 5; i += 1) {
      const res = await request()('POST', `/api/live/${id}/comment`, {
        token: follower.token,
        body: { comment: `message ${i}` },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        streamId: id,
        userId: follower.user.id,
        username: follower.username,
        comment: `message ${i}`,
      });
    }
    const page1 = await request()('GET', `/api/live/${id}/comments?limit=3`);
    expect(page1.body.comments.map((c: any) => c.comment)).toEqual([
      'message 2',
      'message 3',
      'message 4',
    ]);
    const page2 = await request()(
      'GET',
      `/api/live/${id}/comments?limit=3&before=${page1.body.nextBefore}`,
    );
    expect(page2.body.comments.map((c: any) => c.comment)).toEqual(['message 0', 'message 1']);
    expect(page2.body.nextBefore).toBeNull();
  });
});
