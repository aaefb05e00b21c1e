import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientEvents, REACTIONS, type ClientEventName } from '@onair/protocol';
import {
  api,
  collect,
  connectSocket,
  emitAck,
  endLive,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';

describe('Socket.IO events', () => {
  let server: TestServer;
  let host: TestUser;
  let follower: TestUser;
  let stranger: TestUser;
  const open: ClientSocket[] = [];
  const request = () => api(server.url);
  const socketOf = async (user: TestUser) => {
    const socket = await connectSocket(server, user.token);
    open.push(socket);
    return socket;
  };

  beforeAll(async () => {
    server = await startTestServer({
      rateLimits: {
        comments: { points: 3, durationSeconds: 60 },
        reactions: { points: 5, durationSeconds: 60 },
      },
    });
    [host, follower, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await request()('POST', `/api/users/${host.user.id}/follow`, { token: follower.token });
  });
  afterEach(() => endLive(server, host));
  afterAll(async () => {
    for (const s of open) s.close();
    await server.stop();
  });

  it('refuses a token that is present but not valid (no token at all is an anonymous socket)', async () => {
    await expect(connectSocket(server, 'forged.token.value')).rejects.toThrow(/unauthorized/);
    await expect(connectSocket(server, '')).rejects.toThrow(/unauthorized/);
    const anonymous = await connectSocket(server, undefined);
    expect(anonymous.connected).toBe(true);
    anonymous.close();
  });

  it('announces a stream once to everyone who may see it, and a private one to followers only', async () => {
    const [hostSocket, followerSocket, strangerSocket] = await Promise.all([
      socketOf(host),
      socketOf(follower),
      socketOf(stranger),
    ]);
    const seenByFollower = collect(followerSocket, 'live_started');
    const seenByStranger = collect(strangerSocket, 'live_started');
    const overSocket = await emitAck(hostSocket, 'start_live', {
      title: 'over the socket',
      tags: ['a'],
    });
    expect(overSocket.ok).toBe(true);
    expect(overSocket.stream).toMatchObject({ title: 'over the socket', status: 'live' });
    expect(overSocket.stream.streamKey).toEqual(expect.any(String));
    await endLive(server, host);
    const overRest = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'over REST' },
    });
    await endLive(server, host);
    const privateStream = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'secret', isPrivate: true },
    });
    await sleep(400);
    const ids = (seen: { streamId: string }[]) => seen.map((s) => s.streamId).sort();
    expect(ids(seenByFollower)).toEqual(
      [overSocket.stream.streamId, overRest.body.streamId, privateStream.body.streamId].sort(),
    );
    expect(ids(seenByStranger)).toEqual(
      [overSocket.stream.streamId, overRest.body.streamId].sort(),
    );
    expect(JSON.stringify(seenByStranger)).not.toContain('streamKey');
  });

  it('keeps private and ended streams closed to those who may not join', async () => {
    const privateId = (
      await request()('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'p', isPrivate: true },
      })
    ).body.streamId;
    const strangerSocket = await socketOf(stranger);
    expect(await emitAck(strangerSocket, 'join_live', { streamId: privateId })).toMatchObject({
      ok: false,
      error: { code: 'followers_only' },
    });
    expect((await emitAck(await socketOf(follower), 'join_live', { streamId: privateId })).ok).toBe(
      true,
    );
    await endLive(server, host);
    const endedId = (
      await request()('POST', '/api/live/start', { token: host.token, body: { title: 'e' } })
    ).body.streamId;
    await request()('POST', `/api/live/end/${endedId}`, { token: host.token });
    expect(await emitAck(strangerSocket, 'join_live', { streamId: endedId })).toMatchObject({
      ok: false,
      error: { code: 'stream_ended' },
    });
  });

  it('stores comments before broadcasting them, with identity from the token', async () => {
    const streamId = (
      await request()('POST', '/api/live/start', { token: host.token, body: { title: 'chat' } })
    ).body.streamId;
    const hostSocket = await socketOf(host);
    const [a, b] = await Promise.all([socketOf(follower), socketOf(stranger)]);
    // Not in the room yet: refused. The host may chat without joining.
    expect(await emitAck(a, 'live_comment', { streamId, comment: 'too early' })).toMatchObject({
      ok: false,
      error: { code: 'not_in_room' },
    });
    await emitAck(a, 'join_live', { streamId });
    await emitAck(b, 'join_live', { streamId });
    const atB = collect(b, 'live_comment_added');
    const first = nextEvent(b, 'live_comment_added');
    const sent = await emitAck(a, 'live_comment', {
      streamId,
      comment: '<b>x</b>',
      username: 'impostor',
      userId: stranger.user.id,
    });
    expect(sent.ok).toBe(true);
    const received = await first;
    expect(received).toEqual(sent.comment);
    expect(received).toMatchObject({
      userId: follower.user.id,
      username: follower.username,
      comment: '<b>x</b>',
    });
    expect(received.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(received.timestamp))).toBe(false);
    const history = await request()('GET', `/api/live/${streamId}/comments`);
    expect(history.body.comments.map((c: { id: string }) => c.id)).toContain(received.id);
    expect(
      (await emitAck(hostSocket, 'live_comment', { streamId, comment: 'from the host' })).ok,
    ).toBe(true);
    await emitAck(b, 'live_comment', { streamId, comment: 'second' });
    await sleep(200);
    expect(atB.map((c) => c.comment)).toEqual(['<b>x</b>', 'from the host', 'second']);
  });

  it('rate-limits a flooding user (comments and reactions) without affecting anyone else', async () => {
    const streamId = (
      await request()('POST', '/api/live/start', { token: host.token, body: { title: 'flood' } })
    ).body.streamId;
    const flooder = await registerUser(server);
    const [f, calm] = await Promise.all([connectSocket(server, flooder.token), socketOf(follower)]);
    open.push(f);
    await emitAck(f, 'join_live', { streamId });
    await emitAck(calm, 'join_live', { streamId });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        emitAck(f, 'live_comment', { streamId, comment: `spam ${i}` }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok).every((r) => r.error.code === 'rate_limited')).toBe(true);
    expect((await emitAck(calm, 'live_comment', { streamId, comment: 'still here' })).ok).toBe(
      true,
    );
    const reactions = await Promise.all(
      Array.from({ length: 8 }, () =>
        emitAck(f, 'live_reaction', { streamId, reaction: REACTIONS[1] }),
      ),
    );
    expect(reactions.filter((r) => r.ok)).toHaveLength(5);
    expect(reactions.filter((r) => !r.ok).every((r) => r.error.code === 'rate_limited')).toBe(true);
    const stored = await request()('GET', `/api/live/${streamId}/comments`);
    expect(
      stored.body.comments.filter((c: { comment: string }) => c.comment.startsWith('spam')),
    ).toHaveLength(3);
  });

  it('relays reactions from the allowed set only', async () => {
    const streamId = (
      await request()('POST', '/api/live/start', { token: host.token, body: { title: 'react' } })
    ).body.streamId;
    const hostSocket = await socketOf(host);
    await emitAck(hostSocket, 'join_live', { streamId });
    const viewer = await socketOf(stranger);
    await emitAck(viewer, 'join_live', { streamId });
    const reaction = nextEvent(hostSocket, 'live_reaction_received');
    expect((await emitAck(viewer, 'live_reaction', { streamId, reaction: REACTIONS[0] })).ok).toBe(
      true,
    );
    // Alone in its window, the reaction goes out at once and names its sender.
    expect(await reaction).toMatchObject({
      streamId,
      count: 1,
      userId: stranger.user.id,
      username: stranger.username,
      reaction: REACTIONS[0],
    });
    expect(
      await emitAck(viewer, 'live_reaction', { streamId, reaction: '<script>' }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('ends a stream only for its host, telling the room', async () => {
    const streamId = (
      await request()('POST', '/api/live/start', { token: host.token, body: { title: 'ending' } })
    ).body.streamId;
    const hostSocket = await socketOf(host);
    const viewer = await socketOf(follower);
    await emitAck(viewer, 'join_live', { streamId });
    expect(await emitAck(viewer, 'end_live', { streamId })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const ended = nextEvent(viewer, 'live_ended');
    const res = await emitAck(hostSocket, 'end_live', { streamId });
    expect(res).toMatchObject({ ok: true, stream: { status: 'ended' } });
    expect(await ended).toMatchObject({ streamId, stream: { status: 'ended' } });
    expect(await emitAck(viewer, 'live_comment', { streamId, comment: 'after' })).toMatchObject({
      ok: false,
    });
    const active = (await request()('GET', '/api/live/active')).body.map(
      (s: { streamId: string }) => s.streamId,
    );
    expect(active).not.toContain(streamId);
  });

  it('answers every event, whatever the payload, and keeps working', async () => {
    // Every event of the protocol's table: a handler missing for one would never answer.
    const events = Object.keys(clientEvents) as ClientEventName[];
    const garbage = [null, 42, 'text', [], { streamId: 'nope' }, { streamId: 'x'.repeat(100_000) }];
    for (const event of events) {
      // A socket of its own per event: all of them from one socket at once would be a flood
      // (over its message budget, issue 16).
      const socket = await socketOf(stranger);
      for (const payload of garbage) {
        const res = await emitAck(socket, event, payload);
        expect(res.ok, `${event} ${JSON.stringify(payload).slice(0, 30)}`).toBe(false);
        expect(res.error.code).toBe('invalid_input');
      }
      expect(socket.connected).toBe(true);
    }
    expect((await request()('GET', '/api/health')).status).toBe(200);
  });
});
