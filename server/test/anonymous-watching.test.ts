import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anonymousViewer, presenceHandle } from '../src/live/presence';
import { RecordingViewer, SyntheticPublisher, connected, waitFor } from './support/loopback-peers';
import { publishOverSocket } from './support/socket-publisher';
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

/** What every test here needs: a server, hosts, and things to close after each test. */
function harness(server: () => TestServer) {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  const later = (fn: () => Promise<unknown> | unknown) => cleanup.push(fn);
  const closeAll = async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  };

  const socketOf = async (token: string | undefined) => {
    const socket = await connectSocket(server(), token);
    later(() => socket.close());
    return socket;
  };

  const start = async (host: TestUser, isPrivate = false) => {
    await endLive(server(), host);
    const started = await api(server().url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: isPrivate ? 'followers only' : 'everyone', isPrivate },
    });
    expect(started.status).toBe(201);
    return started.body.streamId as string;
  };

  /** A live stream of `host` with a publisher sending media, and the host's socket in its room. */
  const liveWithMedia = async (host: TestUser, isPrivate = false) => {
    const streamId = await start(host, isPrivate);
    const hostSocket = await socketOf(host.token);
    await emitAck(hostSocket, 'join_live', { streamId });
    const publisher = await publishOverSocket(hostSocket, streamId);
    later(() => publisher.close());
    await waitFor(
      () => server().media.stats().publishers >= 1,
      10_000,
      'the publisher to be connected',
    );
    return { streamId, hostSocket };
  };

  /** Watches over a socket's signalling: the server's offer, the viewer's answer. */
  const watchOverSocket = async (socket: ClientSocket, streamId: string) => {
    const viewer = new RecordingViewer();
    later(() => viewer.close());
    const offer = await emitAck(socket, 'live_offer', { streamId });
    expect(offer).toMatchObject({ ok: true });
    const answer = await viewer.answer(offer.description.sdp);
    const accepted = await emitAck(socket, 'live_answer', {
      streamId,
      description: { type: 'answer', sdp: answer },
    });
    expect(accepted).toMatchObject({ ok: true });
    await connected(viewer.pc);
    return viewer;
  };

  /** WHEP with the given Authorization header, or none. */
  const whep = async (streamId: string, authorization?: string) => {
    const viewer = new RecordingViewer();
    later(() => viewer.close());
    const headers: Record<string, string> = { 'content-type': 'application/sdp' };
    if (authorization) headers.authorization = authorization;
    const res = await fetch(`${server().url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers,
      body: await viewer.offer(),
    });
    return { res, viewer };
  };

  const countOf = async (streamId: string, token?: string) =>
    (await api(server().url)('GET', `/api/live/${streamId}`, { token })).body.viewerCount as number;

  return { later, closeAll, socketOf, start, liveWithMedia, watchOverSocket, whep, countOf };
}

describe.each(engines)('watching without an account on %s', (engine) => {
  let server: TestServer;
  let host: TestUser;
  let privateHost: TestUser;
  let follower: TestUser;
  const h = harness(() => server);

  beforeAll(async () => {
    server = await startTestServer({ engine });
    [host, privateHost, follower] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await api(server.url)('POST', `/api/users/${privateHost.user.id}/follow`, {
      token: follower.token,
    });
  });
  afterEach(() => h.closeAll());
  afterAll(() => server.stop());

  it('shows public streams, their details and chat to anonymous callers, and hides private ones', async () => {
    const request = api(server.url);
    const publicId = await h.start(host);
    const privateId = await h.start(privateHost, true);
    const comment = await request('POST', `/api/live/${publicId}/comment`, {
      token: follower.token,
      body: { comment: 'hello everyone' },
    });
    expect(comment.status).toBe(201);

    const active = await request<{ streamId: string }[]>('GET', '/api/live/active');
    expect(active.status).toBe(200);
    const ids = active.body.map((s) => s.streamId);
    expect(ids).toContain(publicId);
    expect(ids).not.toContain(privateId);
    // The follower, signed in, does see the private one: it is hidden, not gone.
    const followed = await request<{ streamId: string }[]>('GET', '/api/live/active', {
      token: follower.token,
    });
    expect(followed.body.map((s) => s.streamId)).toContain(privateId);

    const details = await request('GET', `/api/live/${publicId}`);
    expect(details.status).toBe(200);
    expect(details.body).toMatchObject({
      streamId: publicId,
      media: { camera: true, microphone: true },
    });
    const history = await request('GET', `/api/live/${publicId}/comments`);
    expect(history.status).toBe(200);
    expect(history.body.comments.map((c: { comment: string }) => c.comment)).toEqual([
      'hello everyone',
    ]);
    const byHost = await request<{ streamId: string }[]>(
      'GET',
      `/api/live/user/${privateHost.user.id}`,
    );
    expect(byHost.status).toBe(200);
    expect(byHost.body).toEqual([]);

    for (const path of [`/api/live/${privateId}`, `/api/live/${privateId}/comments`]) {
      const hidden = await request(`GET`, path);
      // Whose it is, so the page can offer to follow them; nothing of the stream itself.
      expect(hidden.status, path).toBe(403);
      expect(hidden.body.error.code).toBe('followers_only');
      expect(hidden.body.error.owner.id).toBe(privateHost.user.id);
    }
  });

  it('lets an anonymous socket join and watch a public stream, counted once, until it disconnects', async () => {
    const { streamId, hostSocket } = await h.liveWithMedia(host);
    const joinedEvents = collect(hostSocket, 'viewer_joined');
    const anonymous = await h.socketOf(undefined);

    const joined = await emitAck(anonymous, 'join_live', { streamId });
    expect(joined).toMatchObject({ ok: true, viewerCount: 1, stream: { streamId } });
    // Joining the room and pulling media over the same socket is one viewer, not two.
    const viewer = await h.watchOverSocket(anonymous, streamId);
    await waitFor(() => viewer.received('video') > 10, 10_000, 'video at the anonymous viewer');
    expect(viewer.received('audio')).toBeGreaterThan(0);
    expect(await h.countOf(streamId)).toBe(1);
    // The host's viewers[] names signed-in viewers only.
    const details = await api(server.url)('GET', `/api/live/${streamId}`, { token: host.token });
    expect(details.body).toMatchObject({ viewerCount: 1, peakViewers: 1, viewers: [] });

    // A signed-in viewer beside it makes two; the room hears who they are, never the anonymous one.
    const signedIn = await registerUser(server);
    const userSocket = await h.socketOf(signedIn.token);
    expect(await emitAck(userSocket, 'join_live', { streamId })).toMatchObject({
      viewerCount: 2,
    });
    await sleep(200);
    expect(joinedEvents).toEqual([
      { streamId, userId: signedIn.user.id, username: signedIn.username },
    ]);

    const dropped = nextEvent(hostSocket, 'viewer_count', (c) => c.viewerCount === 1);
    anonymous.close();
    await dropped;
    expect(await h.countOf(streamId)).toBe(1);
    await waitFor(() => server.media.stats().subscribers === 0, 5000, 'the session to close');
    expect((await api(server.url)('GET', `/api/live/${streamId}`)).body.peakViewers).toBe(2);
  });

  it('refuses an anonymous socket anything but watching, and stores nothing', async () => {
    const streamId = await h.start(host);
    const hostSocket = await h.socketOf(host.token);
    await emitAck(hostSocket, 'join_live', { streamId });
    const heard = {
      comments: collect(hostSocket, 'live_comment_added'),
      reactions: collect(hostSocket, 'live_reaction_received'),
      media: collect(hostSocket, 'live_media_state'),
    };
    const anonymous = await h.socketOf(undefined);
    expect(await emitAck(anonymous, 'join_live', { streamId })).toMatchObject({ ok: true });

    const refused = async (event: string, payload: unknown, message: RegExp) => {
      const ack = await emitAck(anonymous, event as 'live_comment', payload);
      expect(ack, event).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
      expect(ack.error.message, event).toMatch(message);
    };
    await refused('live_comment', { streamId, comment: 'let me in' }, /sign in to chat/i);
    // Refused for what it is, whatever the payload: even an invalid one gets the same answer.
    await refused('live_comment', { nonsense: true }, /sign in to chat/i);
    await refused('live_reaction', { streamId, reaction: '🔥' }, /sign in/i);
    await refused('start_live', { title: 'anonymous show' }, /sign in/i);
    await refused('end_live', { streamId }, /sign in/i);
    await refused('live_media_state', { streamId, camera: false, microphone: false }, /sign in/i);
    // Publishing is not watching, though it shares the watching events' names.
    const publisher = new SyntheticPublisher();
    h.later(() => publisher.close());
    await refused(
      'live_offer',
      { streamId, description: { type: 'offer', sdp: await publisher.offer() } },
      /sign in/i,
    );
    await refused('live_ice_candidate', { streamId, role: 'publish', candidate: null }, /sign in/i);

    await sleep(200);
    expect(heard).toEqual({ comments: [], reactions: [], media: [] });
    const request = api(server.url);
    expect((await request('GET', `/api/live/${streamId}/comments`)).body.comments).toEqual([]);
    const details = await request('GET', `/api/live/${streamId}`);
    expect(details.body).toMatchObject({
      status: 'live',
      media: { camera: true, microphone: true },
    });
    const active = await request<{ title: string }[]>('GET', '/api/live/active');
    expect(active.body.map((s) => s.title)).not.toContain('anonymous show');
    // Still connected, and still allowed to watch.
    expect(await emitAck(anonymous, 'leave_live', { streamId })).toMatchObject({ ok: true });
  });

  it('keeps anonymous sockets and WHEP out of a private stream, naming only its owner', async () => {
    const { streamId } = await h.liveWithMedia(privateHost, true);
    const anonymous = await h.socketOf(undefined);
    for (const event of ['join_live', 'live_offer'] as const) {
      expect(await emitAck(anonymous, event, { streamId }), event).toMatchObject({
        ok: false,
        error: { code: 'followers_only', owner: { id: privateHost.user.id } },
      });
    }
    const { res } = await h.whep(streamId);
    expect(res.status).toBe(403);
    expect(server.media.stats().subscribers).toBe(0);
    expect(await h.countOf(streamId, privateHost.token)).toBe(0);
    // The follower, signed in, is let in: the refusal was about who asked.
    const { res: followed } = await h.whep(streamId, `Bearer ${follower.token}`);
    expect(followed.status).toBe(201);
  });

  it('lets anonymous WHEP watch a public stream as one viewer per session; a bad token is still a 401', async () => {
    const { streamId, hostSocket } = await h.liveWithMedia(host);
    const first = await h.whep(streamId);
    expect(first.res.status).toBe(201);
    expect(first.res.headers.get('content-type')).toMatch(/^application\/sdp/);
    await first.viewer.pc.setRemoteDescription({ type: 'answer', sdp: await first.res.text() });
    await connected(first.viewer.pc);
    await waitFor(() => first.viewer.received('video') > 10, 10_000, 'video over anonymous WHEP');
    expect(await h.countOf(streamId)).toBe(1);

    const second = await h.whep(streamId);
    expect(second.res.status).toBe(201);
    await second.res.text();
    expect(await h.countOf(streamId)).toBe(2);

    for (const authorization of ['Bearer forged.token.value', 'Basic dXNlcjpwYXNz']) {
      const bad = await h.whep(streamId, authorization);
      expect(bad.res.status, authorization).toBe(401);
      expect(((await bad.res.json()) as { error: { code: string } }).error.code).toBe(
        'unauthorized',
      );
    }
    expect(await h.countOf(streamId)).toBe(2);

    // The session's own caller (the same address, no token) ends it; a user may not.
    const location = first.res.headers.get('location')!;
    const other = await registerUser(server);
    const foreign = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect(foreign.status).toBe(403);
    const dropped = nextEvent(hostSocket, 'viewer_count', (c) => c.viewerCount === 1);
    const ended = await fetch(`${server.url}${location}`, { method: 'DELETE' });
    expect(ended.status).toBe(200);
    await dropped;
    expect(await h.countOf(streamId)).toBe(1);
  });

  it("forgets a restarted node's anonymous presence like a user's", async () => {
    const streamId = await h.start(host);
    const signedIn = await registerUser(server);
    const presence = server.services.presence;
    const anonymous = anonymousViewer.socket('gone-socket');
    await presence.enter(streamId, anonymous, presenceHandle.socket('gone-socket'));
    await presence.enter(
      streamId,
      { userId: signedIn.user.id, username: signedIn.username },
      presenceHandle.socket('gone-too'),
    );
    expect(await h.countOf(streamId)).toBe(2);
    // What this node held went with its process: a restart drops it and recounts.
    await presence.forgetNode();
    expect(await h.countOf(streamId)).toBe(0);
    const summary = await api(server.url)('GET', `/api/live/${streamId}/summary`, {
      token: host.token,
    });
    expect(summary.body).toMatchObject({ peakViewers: 2, uniqueViewers: 2 });
  });
});

describe('limits on anonymous watchers', () => {
  let server: TestServer;
  let host: TestUser;
  const h = harness(() => server);

  beforeAll(async () => {
    server = await startTestServer({
      env: { ANONYMOUS_WHEP_PER_IP: '2', JOIN_LEAVE_PER_SOCKET: '3' },
    });
    host = await registerUser(server);
  });
  afterEach(() => h.closeAll());
  afterAll(() => server.stop());

  it('bounds the WHEP sessions one address holds without an account, and frees a place when one ends', async () => {
    const { streamId } = await h.liveWithMedia(host);
    const first = await h.whep(streamId);
    const second = await h.whep(streamId);
    expect([first.res.status, second.res.status]).toEqual([201, 201]);
    const third = await h.whep(streamId);
    expect(third.res.status).toBe(429);
    expect(((await third.res.json()) as { error: { code: string } }).error.code).toBe(
      'rate_limited',
    );
    expect(server.media.stats().subscribers).toBe(2);
    expect(await h.countOf(streamId)).toBe(2);

    // A signed-in viewer from the same address is not held to it.
    const user = await registerUser(server);
    expect((await h.whep(streamId, `Bearer ${user.token}`)).res.status).toBe(201);

    const ended = await fetch(`${server.url}${first.res.headers.get('location')!}`, {
      method: 'DELETE',
    });
    expect(ended.status).toBe(200);
    expect((await h.whep(streamId)).res.status).toBe(201);
  });

  it('holds an anonymous socket to the join budget of any socket', async () => {
    const streamId = await h.start(host);
    const anonymous = await h.socketOf(undefined);
    const acks = [];
    for (let i = 0; i < 4; i += 1) acks.push(await emitAck(anonymous, 'join_live', { streamId }));
    expect(acks.slice(0, 3).every((a) => a.ok)).toBe(true);
    expect(acks[3]).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
  });
});
