import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { moderate, moderationView, startStream } from './support/moderation';
import {
  api,
  connectSocket,
  emitAck,
  engines,
  nextEvent,
  registerUser,
  type ClientSocket,
  type TestServer,
  type TestUser,
  startTestServer,
} from './support/server';

const loopback = {
  iceServers: [],
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
};

/** A real receive-only offer, so a WHEP request that passes the rules reaches the media server. */
async function viewerOffer(): Promise<{ pc: RTCPeerConnection; sdp: string }> {
  const pc = new RTCPeerConnection(loopback);
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return { pc, sdp: pc.localDescription!.sdp };
}

/**
 * Who may see, watch, chat, publish and moderate (server/src/live/access.ts), asked the same
 * question over every transport: REST, a socket's join and chat, WHEP and WHIP.
 */
describe.each(engines)('access rules on %s', (engine) => {
  let server: TestServer;
  let host: TestUser;
  let follower: TestUser;
  let stranger: TestUser;
  let moderator: TestUser;
  let banned: TestUser;
  let timedOut: TestUser;
  let publicId: string;
  let privateId: string;
  /** A second host's streams, ended: one public, one private. */
  let endedHost: TestUser;
  let endedPublicId: string;
  let endedPrivateId: string;
  const sockets: ClientSocket[] = [];
  const peers: RTCPeerConnection[] = [];
  const request = () => api(server.url);

  const socketOf = async (user: TestUser | undefined) => {
    const socket = await connectSocket(server, user?.token);
    sockets.push(socket);
    return socket;
  };
  const follow = (user: TestUser, of: TestUser) =>
    request()('POST', `/api/users/${of.user.id}/follow`, { token: user.token });
  const unfollow = (user: TestUser, of: TestUser) =>
    request()('DELETE', `/api/users/${of.user.id}/follow`, { token: user.token });

  beforeAll(async () => {
    server = await startTestServer({ engine });
    const register = () => registerUser(server);
    [host, follower, stranger, moderator, banned, timedOut, endedHost] = await Promise.all([
      register(),
      register(),
      register(),
      register(),
      register(),
      register(),
      register(),
    ]);
    for (const user of [follower, moderator, banned, timedOut]) await follow(user, host);
    await follow(follower, endedHost);
    // A host has one live stream at a time: the live public stream is the moderator's own.
    privateId = await startStream(server, host, { title: 'Secret plans', isPrivate: true });
    expect(
      (
        await moderate(server, host, privateId, {
          action: 'add_moderator',
          userId: moderator.user.id,
        })
      ).status,
    ).toBe(200);
    expect(
      (await moderate(server, host, privateId, { action: 'ban', userId: banned.user.id })).status,
    ).toBe(200);
    expect(
      (
        await moderate(server, host, privateId, {
          action: 'timeout',
          userId: timedOut.user.id,
          seconds: 600,
        })
      ).status,
    ).toBe(200);
    publicId = await startStream(server, moderator, { title: 'Open house' });
    endedPublicId = await startStream(server, endedHost, { title: 'Was public' });
    await request()('POST', `/api/live/end/${endedPublicId}`, { token: endedHost.token });
    endedPrivateId = await startStream(server, endedHost, {
      title: 'Was private',
      isPrivate: true,
    });
    await request()('POST', `/api/live/end/${endedPrivateId}`, { token: endedHost.token });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    for (const pc of peers) await pc.close();
    await server.stop();
  });

  /** What an outsider of `owner`'s private stream is told: who owns it, and nothing else. */
  const followersOnly = (owner: TestUser) => ({
    code: 'followers_only',
    message: expect.any(String),
    owner: {
      id: owner.user.id,
      username: owner.user.username,
      display_name: owner.user.display_name,
      avatar_url: null,
    },
  });

  it('REST: a private stream shows its page to the host and followers, and only its owner to outsiders', async () => {
    for (const user of [host, follower, moderator, banned, timedOut]) {
      const res = await request()('GET', `/api/live/${privateId}`, { token: user.token });
      expect(res.status, user.username).toBe(200);
      expect(res.body.title).toBe('Secret plans');
    }
    for (const token of [stranger.token, undefined]) {
      const res = await request()('GET', `/api/live/${privateId}`, token ? { token } : {});
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: followersOnly(host) });
      // Nothing of the stream itself: no title, no viewers, no counts.
      expect(JSON.stringify(res.body)).not.toContain('Secret plans');
    }
    // An ended private stream is still the followers' own.
    expect(
      (await request()('GET', `/api/live/${endedPrivateId}`, { token: stranger.token })).body,
    ).toEqual({ error: followersOnly(endedHost) });
    expect(
      (await request()('GET', `/api/live/${endedPrivateId}`, { token: follower.token })).body
        .status,
    ).toBe('ended');
    // Public: anyone, signed in or not, ended or live.
    expect((await request()('GET', `/api/live/${publicId}`)).status).toBe(200);
    expect((await request()('GET', `/api/live/${endedPublicId}`)).body.status).toBe('ended');
    expect((await request()('GET', '/api/live/6b1f1a8e-3c1d-4c7a-9c55-1d2f4a0b9e10')).status).toBe(
      404,
    );
  });

  it('REST: views and comments follow the same rules; the host’s own actions hide a private stream', async () => {
    const view = (user: TestUser, id: string) =>
      request()('POST', `/api/live/${id}/view`, { token: user.token });
    const comment = (user: TestUser, id: string) =>
      request()('POST', `/api/live/${id}/comment`, { token: user.token, body: { comment: 'hi' } });
    expect((await view(follower, privateId)).status).toBe(200);
    expect((await comment(follower, privateId)).status).toBe(201);
    expect((await view(stranger, privateId)).body.error).toEqual(followersOnly(host));
    expect((await comment(stranger, privateId)).body.error).toEqual(followersOnly(host));
    expect((await view(banned, privateId)).body.error.code).toBe('banned');
    expect((await comment(banned, privateId)).body.error.code).toBe('banned');
    // Timed out: may watch, may not chat.
    expect((await view(timedOut, privateId)).status).toBe(200);
    expect((await comment(timedOut, privateId)).body.error.code).toBe('timed_out');
    expect((await view(follower, endedPublicId)).body.error.code).toBe('stream_ended');
    expect((await comment(follower, endedPublicId)).body.error.code).toBe('stream_ended');
    // Ending or summing up someone else's stream: 403 when it is visible, 404 when it is not.
    expect(
      (await request()('POST', `/api/live/end/${privateId}`, { token: follower.token })).status,
    ).toBe(403);
    expect(
      (await request()('POST', `/api/live/end/${privateId}`, { token: stranger.token })).status,
    ).toBe(404);
    expect(
      (await request()('GET', `/api/live/${privateId}/summary`, { token: stranger.token })).status,
    ).toBe(404);
    expect(
      (await request()('GET', `/api/live/${privateId}/summary`, { token: host.token })).status,
    ).toBe(200);
    for (const user of [follower, stranger, banned, timedOut, moderator])
      await request()('POST', `/api/live/${privateId}/leave`, { token: user.token });
  });

  it('REST: the host and moderators may moderate; a follower may not; an outsider finds nothing', async () => {
    expect((await moderationView(server, host, privateId)).status).toBe(200);
    expect((await moderationView(server, moderator, privateId)).status).toBe(200);
    const viewer = await moderationView(server, follower, privateId);
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.code).toBe('forbidden');
    expect((await moderationView(server, stranger, privateId)).status).toBe(404);
  });

  it('socket: join and chat ask the same rules as REST', async () => {
    const join = async (user: TestUser | undefined, streamId: string) =>
      emitAck(await socketOf(user), 'join_live', { streamId });
    expect(await join(stranger, privateId)).toEqual({ ok: false, error: followersOnly(host) });
    expect(await join(undefined, privateId)).toEqual({ ok: false, error: followersOnly(host) });
    expect((await join(banned, privateId)).error.code).toBe('banned');
    expect((await join(follower, endedPublicId)).error.code).toBe('stream_ended');
    expect((await join(stranger, endedPrivateId)).error).toEqual(followersOnly(endedHost));
    expect((await join(undefined, publicId)).ok).toBe(true);
    expect((await join(stranger, publicId)).ok).toBe(true);
    const hostJoin = await join(host, privateId);
    expect(hostJoin.ok).toBe(true);
    expect(hostJoin.chat.role).toBe('host');
    const modJoin = await join(moderator, privateId);
    expect(modJoin.chat.role).toBe('moderator');

    const chat = async (user: TestUser, joinFirst: boolean) => {
      const socket = await socketOf(user);
      if (joinFirst) await emitAck(socket, 'join_live', { streamId: privateId });
      return emitAck(socket, 'live_comment', { streamId: privateId, comment: 'hello' });
    };
    expect((await chat(follower, true)).ok).toBe(true);
    // Not in the room: a follower is asked to join; a banned user and an outsider are told why.
    expect((await chat(follower, false)).error.code).toBe('not_in_room');
    expect((await chat(banned, false)).error.code).toBe('banned');
    expect((await chat(stranger, false)).error).toEqual(followersOnly(host));
    const timed = await chat(timedOut, true);
    expect(timed.error.code).toBe('timed_out');
    expect(timed.error.retryAfterSeconds).toBeGreaterThan(500);
    // The host chats without joining.
    expect((await chat(host, false)).ok).toBe(true);
  });

  it('WHEP: outsiders are told whose stream it is, banned users why, ended streams are gone', async () => {
    const { pc, sdp } = await viewerOffer();
    peers.push(pc);
    const whep = async (streamId: string, user?: TestUser) => {
      const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
        method: 'POST',
        headers: {
          'content-type': 'application/sdp',
          ...(user ? { authorization: `Bearer ${user.token}` } : {}),
        },
        body: sdp,
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as any };
    };
    for (const user of [stranger, undefined]) {
      const refused = await whep(privateId, user);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toEqual(followersOnly(host));
    }
    expect((await whep(privateId, banned)).body.error.code).toBe('banned');
    expect((await whep(endedPublicId, follower)).status).toBe(404);
    // Let in: nobody publishes yet, which is the next thing WHEP checks.
    for (const user of [follower, timedOut, moderator, host])
      expect((await whep(privateId, user)).body.error.code, user.username).toBe('no_publisher');
    expect((await whep(publicId)).body.error.code).toBe('no_publisher');
  });

  it('WHIP: only the host publishes; an outsider finds nothing; an ended stream is gone', async () => {
    // Sent as text/plain: a request that passes the rules stops at the body's type (415).
    const whip = (streamId: string, user: TestUser) =>
      fetch(`${server.url}/api/live/${streamId}/whip`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${user.token}` },
        body: 'v=0',
      }).then((res) => res.status);
    expect(await whip(privateId, host)).toBe(415);
    expect(await whip(privateId, follower)).toBe(403);
    expect(await whip(privateId, moderator)).toBe(403);
    expect(await whip(privateId, stranger)).toBe(404);
    expect(await whip(endedPrivateId, endedHost)).toBe(404);
  });

  it('lists never name a private stream to outsiders', async () => {
    const ids = (body: { streamId: string }[]) => body.map((s) => s.streamId);
    for (const token of [stranger.token, undefined]) {
      const options = token ? { token } : {};
      expect(ids((await request()('GET', '/api/live/active', options)).body)).not.toContain(
        privateId,
      );
      expect(ids((await request()('GET', `/api/live/user/${host.user.id}`, options)).body)).toEqual(
        [],
      );
      const profile = await request()('GET', `/api/users/by-username/${host.username}`, options);
      expect(profile.status).toBe(200);
      expect(JSON.stringify(profile.body)).not.toContain(privateId);
    }
    expect(
      ids((await request()('GET', '/api/live/active', { token: follower.token })).body),
    ).toContain(privateId);
  });

  it('follow and unfollow change a watcher’s standing on their open sockets, without a new connection', async () => {
    const outsider = await registerUser(server);
    const [tab, otherTab] = [await socketOf(outsider), await socketOf(outsider)];
    expect((await emitAck(tab, 'join_live', { streamId: privateId })).error).toEqual(
      followersOnly(host),
    );

    const granted = [tab, otherTab].map((s) => nextEvent(s, 'live_access_granted'));
    expect((await follow(outsider, host)).status).toBe(200);
    for (const told of granted) expect(await told).toEqual({ streamId: privateId });
    const joined = await emitAck(tab, 'join_live', { streamId: privateId });
    expect(joined.ok).toBe(true);
    expect(joined.stream.title).toBe('Secret plans');
    expect(
      (await emitAck(tab, 'live_comment', { streamId: privateId, comment: 'in at last' })).ok,
    ).toBe(true);

    const revoked = nextEvent(tab, 'live_access_revoked');
    expect((await unfollow(outsider, host)).status).toBe(200);
    expect(await revoked).toEqual({ streamId: privateId });
    // The chat says why, rather than "not found" or "join first".
    expect(
      (await emitAck(tab, 'live_comment', { streamId: privateId, comment: 'still here?' })).error,
    ).toEqual(followersOnly(host));

    const again = nextEvent(tab, 'live_access_granted');
    await follow(outsider, host);
    expect(await again).toEqual({ streamId: privateId });
    expect((await emitAck(tab, 'join_live', { streamId: privateId })).ok).toBe(true);
    expect((await emitAck(tab, 'live_comment', { streamId: privateId, comment: 'back' })).ok).toBe(
      true,
    );
    // Following twice is no news: nobody is told again.
    const quiet = nextEvent(tab, 'live_access_granted', () => true, 500).then(
      () => 'told',
      () => 'quiet',
    );
    await follow(outsider, host);
    expect(await quiet).toBe('quiet');
  });
});
