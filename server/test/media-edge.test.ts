import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import {
  api,
  connectSocket,
  emitAck,
  endLive,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

const loopback = {
  iceServers: [{ urls: 'stun:127.0.0.1:9' }],
  iceStunGatherTimeout: 0,
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
};

/** A real publisher's SDP offer (audio + video, sendonly); the peer is closed by the caller. */
async function publisherOffer(): Promise<{ pc: RTCPeerConnection; sdp: string }> {
  const pc = new RTCPeerConnection(loopback);
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return { pc, sdp: pc.localDescription!.sdp };
}

async function viewerOffer(): Promise<{ pc: RTCPeerConnection; sdp: string }> {
  const pc = new RTCPeerConnection(loopback);
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return { pc, sdp: pc.localDescription!.sdp };
}

describe('WHIP / WHEP and signalling refuse what they must', () => {
  let server: TestServer;
  let host: TestUser;
  let other: TestUser;
  /** A second host, for tests that need two streams live at once (one each). */
  let secondHost: TestUser;
  const peers: RTCPeerConnection[] = [];
  const request = () => api(server.url);

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        ICE_SERVERS: JSON.stringify([
          { urls: 'stun:stun.example.test:3478' },
          { urls: 'turn:turn.example.test:3478' },
        ]),
        TURN_SECRET: 'turn-shared-secret',
      },
    });
    host = await registerUser(server);
    other = await registerUser(server);
    secondHost = await registerUser(server);
  });
  afterEach(() => Promise.all([endLive(server, host), endLive(server, secondHost)]));
  afterAll(async () => {
    await Promise.all(peers.map((pc) => pc.close()));
    await server.stop();
  });

  const start = async (body: object = { title: 'media' }, owner = host) => {
    const res = await request()('POST', '/api/live/start', { token: owner.token, body });
    expect(res.status).toBe(201);
    return res.body as { streamId: string; streamKey: string; whipUrl: string };
  };

  const whip = (
    streamId: string,
    bearer: string | undefined,
    sdp: string,
    contentType = 'application/sdp',
  ) =>
    fetch(`${server.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: sdp,
    });

  it('gives the host a stream key and a WHIP URL for this stream only', async () => {
    const stream = await start();
    expect(stream.streamKey).toMatch(/^[\w-]{20,}$/);
    expect(stream.whipUrl).toBe(`${server.url}/api/live/${stream.streamId}/whip`);
    const second = await start({ title: 'media' }, secondHost);
    expect(second.streamKey).not.toBe(stream.streamKey);
    // One stream's key does not open another.
    const { pc, sdp } = await publisherOffer();
    peers.push(pc);
    expect((await whip(second.streamId, stream.streamKey, sdp)).status).toBe(401);
  });

  it('answers a WHIP offer with 201, Location, ETag and an SDP answer, and 409 to a second publisher', async () => {
    const stream = await start();
    const first = await publisherOffer();
    peers.push(first.pc);
    const res = await whip(stream.streamId, stream.streamKey, first.sdp);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/sdp/);
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/api/live/${stream.streamId}/whip/[0-9a-f-]{36}$`));
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f-]{36}"$/);
    const answer = await res.text();
    expect(answer).toMatch(/^v=0/);
    expect(answer).toMatch(/a=candidate:.* 127\.0\.0\.1 /);
    expect(answer).not.toMatch(/stun\.l\.google/);
    expect(res.headers.get('link')).toContain('rel="ice-server"');

    // The host's own token may publish too, but not while a publisher holds the stream.
    const second = await publisherOffer();
    peers.push(second.pc);
    const conflict = await whip(stream.streamId, host.token, second.sdp);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as any).error.code).toBe('conflict');
    expect(server.media.stats().publishers).toBe(1);

    // DELETE needs the same credentials; a stranger cannot end someone's ingest.
    const foreign = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect(foreign.status).toBe(403);
    const deleted = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${stream.streamKey}` },
    });
    expect(deleted.status).toBe(200);
    expect(server.media.stats().publishers).toBe(0);
    const again = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${stream.streamKey}` },
    });
    expect(again.status).toBe(404);
  });

  it('refuses missing and wrong credentials, unknown and ended streams, malformed SDP', async () => {
    const stream = await start();
    const { pc, sdp } = await publisherOffer();
    peers.push(pc);
    expect((await whip(stream.streamId, undefined, sdp)).status).toBe(401);
    expect((await whip(stream.streamId, 'not-a-key', sdp)).status).toBe(401);
    expect((await whip(stream.streamId, other.token, sdp)).status).toBe(403);
    expect((await whip('6b1f1a8e-3c1d-4c7a-9c55-1d2f4a0b9e10', host.token, sdp)).status).toBe(404);
    expect((await whip('not-a-uuid', host.token, sdp)).status).toBe(400);
    const garbage = await whip(stream.streamId, stream.streamKey, 'v=0\r\nthis is not sdp');
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as any).error.code).toBe('invalid_input');
    expect((await whip(stream.streamId, stream.streamKey, '')).status).toBe(400);
    expect((await whip(stream.streamId, stream.streamKey, sdp, 'text/plain')).status).toBe(415);
    expect(server.media.stats().publishers).toBe(0);

    await request()('POST', `/api/live/end/${stream.streamId}`, { token: host.token });
    expect((await whip(stream.streamId, stream.streamKey, sdp)).status).toBe(404);
    expect((await request()('GET', '/api/health')).status).toBe(200);
  });

  it('answers CORS preflights for WHIP and WHEP', async () => {
    const stream = await start();
    for (const kind of ['whip', 'whep']) {
      const res = await fetch(`${server.url}/api/live/${stream.streamId}/${kind}`, {
        method: 'OPTIONS',
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      expect(res.headers.get('access-control-expose-headers')).toMatch(/Location/);
      expect(res.headers.get('accept-post')).toBe('application/sdp');
    }
  });

  it('serves WHEP only to users allowed to see the stream, and not before media exists', async () => {
    const privateStream = await start({ title: 'secret', isPrivate: true });
    const { pc, sdp } = await viewerOffer();
    peers.push(pc);
    const whep = (streamId: string, bearer?: string) =>
      fetch(`${server.url}/api/live/${streamId}/whep`, {
        method: 'POST',
        headers: {
          'content-type': 'application/sdp',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: sdp,
      });
    // Without a token, as with a stranger's: a private stream is for followers (403).
    expect((await whep(privateStream.streamId)).status).toBe(403);
    expect((await whep(privateStream.streamId, other.token)).status).toBe(403);
    expect((await whep(privateStream.streamId, 'forged.token.value')).status).toBe(401);
    const publicStream = await start({ title: 'media' }, secondHost);
    // No publisher yet: nothing to watch (a wait, not a clash), and no viewer is recorded.
    const early = await whep(publicStream.streamId, other.token);
    expect(early.status).toBe(409);
    expect(((await early.json()) as any).error.code).toBe('no_publisher');
    const details = await request()('GET', `/api/live/${publicStream.streamId}`);
    expect(details.body.viewerCount).toBe(0);
  });

  it('signals over Socket.IO: only the host publishes, bad descriptions are refused', async () => {
    const stream = await start();
    const hostSocket = await connectSocket(server, host.token);
    const otherSocket = await connectSocket(server, other.token);
    try {
      const { pc, sdp } = await publisherOffer();
      peers.push(pc);
      const forbidden = await emitAck(otherSocket, 'live_offer', {
        streamId: stream.streamId,
        description: { type: 'offer', sdp },
      });
      expect(forbidden).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      // Asking to watch before the host publishes: the viewer is told to wait for the broadcaster.
      const early = await emitAck(otherSocket, 'live_offer', { streamId: stream.streamId });
      expect(early).toMatchObject({ ok: false, error: { code: 'no_publisher' } });
      const bad = await emitAck(hostSocket, 'live_offer', {
        streamId: stream.streamId,
        description: { type: 'offer', sdp: 'nonsense' },
      });
      expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      const wrongType = await emitAck(hostSocket, 'live_offer', {
        streamId: stream.streamId,
        description: { type: 'answer', sdp },
      });
      expect(wrongType).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      const answered = await emitAck(hostSocket, 'live_offer', {
        streamId: stream.streamId,
        description: { type: 'offer', sdp },
      });
      expect(answered.ok).toBe(true);
      expect(answered.description.type).toBe('answer');
      expect(answered.description.sdp).toMatch(/^v=0/);
      // A viewer's answer with no session, a candidate for a session it does not have.
      const stray = await emitAck(otherSocket, 'live_answer', {
        streamId: stream.streamId,
        description: { type: 'answer', sdp },
      });
      expect(stray).toMatchObject({ ok: false, error: { code: 'not_found' } });
      const candidate = await emitAck(otherSocket, 'live_ice_candidate', {
        streamId: stream.streamId,
        role: 'watch',
        candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' },
      });
      expect(candidate).toMatchObject({ ok: false, error: { code: 'not_found' } });
      for (const garbage of [
        null,
        42,
        'x',
        { streamId: 'nope' },
        { streamId: stream.streamId, description: { type: 'offer', sdp: 'x'.repeat(70_000) } },
      ]) {
        expect((await emitAck(hostSocket, 'live_offer', garbage)).ok).toBe(false);
      }
    } finally {
      hostSocket.close();
      otherSocket.close();
    }
  });

  it('hands out expiring TURN credentials (TURN REST API) and passes STUN entries through', async () => {
    // Anonymous watchers get the STUN entries, never a relay's credentials.
    const anonymous = await request()('GET', '/api/live/ice-servers');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.iceServers).toEqual([{ urls: 'stun:stun.example.test:3478' }]);
    const res = await request()('GET', '/api/live/ice-servers', { token: other.token });
    expect(res.status).toBe(200);
    const [stun, turn] = res.body.iceServers;
    expect(stun).toEqual({ urls: 'stun:stun.example.test:3478' });
    const [expiry, userId] = turn.username.split(':');
    expect(userId).toBe(other.user.id);
    expect(Number(expiry)).toBeGreaterThan(Date.now() / 1000);
    expect(turn.credential).toBe(
      createHmac('sha1', 'turn-shared-secret').update(turn.username).digest('base64'),
    );
  });
});
