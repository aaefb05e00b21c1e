/**
 * WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) as the documents say, with real werift offers:
 * methods and `Allow`, GET with no content, `If-Match` on PATCH (428, 412), ICE restarts refused
 * with 422 (libdatachannel cannot restart ICE), offers in codecs the server cannot forward refused
 * with 422, `WWW-Authenticate` on 401, TURN in `Link` for every publisher, and CORS.
 */
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { ifMatch } from '../src/http/whip-ice';
import { unforwardableKinds, unreceivableKinds } from '../src/media/sdp';
import { loopbackPeerConfig, RecordingViewer, SyntheticPublisher } from './support/loopback-peers';
import {
  api,
  endLive,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';
import { keyOf, publishWithKey, whip, type Cleanup } from './support/whip-peers';

const turnSecret = 'whip-rfc-turn-secret';
const opus = new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 });
const vp9 = new RTCRtpCodecParameters({ mimeType: 'video/VP9', clockRate: 90000 });

/** A werift offer sending audio and video in the given codecs. */
async function sendingOffer(
  codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] },
  cleanup: Cleanup,
): Promise<string> {
  const pc = new RTCPeerConnection({ ...loopbackPeerConfig, codecs });
  cleanup.push(() => pc.close());
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription!.sdp;
}

/** A werift WHEP offer receiving video in the given codecs only (and Opus audio). */
async function receivingOffer(video: RTCRtpCodecParameters[], cleanup: Cleanup): Promise<string> {
  const pc = new RTCPeerConnection({ ...loopbackPeerConfig, codecs: { audio: [opus], video } });
  cleanup.push(() => pc.close());
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription!.sdp;
}

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

describe('WHIP and WHEP as RFC 9725 and the WHEP draft say', () => {
  let server: TestServer;
  let host: TestUser;
  let viewer: TestUser;
  let cleanup: Cleanup = [];
  const request = () => api(server.url);

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        ICE_SERVERS: JSON.stringify([
          { urls: 'stun:stun.example.test:3478' },
          { urls: ['turn:turn.example.test:3478?transport=udp'] },
        ]),
        TURN_SECRET: turnSecret,
      },
    });
    [host, viewer] = await Promise.all([registerUser(server), registerUser(server)]);
  });
  afterEach(async () => {
    for (const close of cleanup.reverse()) await close();
    cleanup = [];
    await endLive(server, host);
  });
  afterAll(() => server?.stop());

  /** The host live from OBS's URL, publishing: its stream and WHIP session. */
  const obsLive = async () => {
    const published = await publishWithKey(server, await keyOf(server, host), cleanup);
    expect(published.status, published.body).toBe(201);
    return { ...published, streamId: published.streamId!, location: published.location! };
  };

  it('answers other methods with 405 and Allow, GET and HEAD with no content, and leaves /api/live/:streamId alone', async () => {
    const { streamId, location } = await obsLive();
    const endpoints = [
      '/api/live/whip',
      `/api/live/${streamId}/whip`,
      `/api/live/${streamId}/whep`,
    ];
    for (const path of endpoints) {
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const res = await fetch(`${server.url}${path}`, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
        expect((await errorOf(res)).code).toBe('invalid_input');
      }
      // RFC 9725 §4.1: no representation, a 2xx with no content.
      const got = await fetch(`${server.url}${path}`);
      expect(got.status, `GET ${path}`).toBeLessThan(300);
      expect(await got.text()).toBe('');
    }
    // WHEP §4.2: HEAD tells a player the URL takes SDP offers.
    const head = await fetch(`${server.url}/api/live/${streamId}/whep`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/sdp');

    for (const method of ['PUT', 'POST']) {
      const res = await fetch(`${server.url}${location}`, { method });
      expect(res.status, `${method} ${location}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE, OPTIONS');
    }
    const sessionGet = await fetch(`${server.url}${location}`);
    expect(
      sessionGet.status,
      `${location} ${await sessionGet.text()} ${JSON.stringify(server.media.publisherSessions())}`,
    ).toBe(204);
    const unknownSession = `/api/live/${streamId}/whip/${crypto.randomUUID()}`;
    expect((await fetch(`${server.url}${unknownSession}`)).status).toBe(404);

    // The stream page API and the other routes under /api/live are untouched.
    const page = await request()('GET', `/api/live/${streamId}`);
    expect(page.status).toBe(200);
    expect(page.body.status).toBe('live');
    expect((await request()('GET', '/api/live/ice-servers')).status).toBe(200);
    expect((await request()('GET', '/api/live/not-a-stream')).status).toBe(400);
  });

  it('holds PATCH to the session’s ETag: 428 without If-Match, 412 for another, 204 for trickle', async () => {
    const publisher = new SyntheticPublisher();
    cleanup.push(() => publisher.close());
    const offer = await publisher.offer();
    const res = await whip(server, await keyOf(server, host), offer);
    expect(res.status).toBe(201);
    const location = res.headers.get('location')!;
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(res.headers.get('accept-patch')).toBe('application/trickle-ice-sdpfrag');
    await publisher.accept(await res.text());

    const offerKey = await keyOf(server, host);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)![1]!;
    const pwd = /a=ice-pwd:(\S+)/.exec(offer)![1]!;
    const candidate = /^a=candidate:.*$/m.exec(offer)?.[0] ?? 'a=end-of-candidates';
    const fragment = (u: string, p: string) =>
      `a=ice-ufrag:${u}\r\na=ice-pwd:${p}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n${candidate}\r\n`;
    const patch = (headers: Record<string, string>, body = fragment(ufrag, pwd)) =>
      fetch(`${server.url}${location}`, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${offerKey}`,
          'content-type': 'application/trickle-ice-sdpfrag',
          ...headers,
        },
        body,
      });

    const missing = await patch({});
    expect(missing.status).toBe(428);
    const stale = await patch({ 'if-match': '"0b5e4c5e-0000-4000-8000-000000000000"' });
    expect(stale.status).toBe(412);
    expect((await patch({ 'if-match': `W/${etag}` })).status).toBe(412);

    const trickle = await patch({ 'if-match': etag });
    expect(trickle.status).toBe(204);
    expect(trickle.headers.get('etag')).toBeNull();
    expect(await trickle.text()).toBe('');
    // `*` with the current credentials is trickle too.
    expect((await patch({ 'if-match': '*' })).status).toBe(204);

    // RFC 9725 §4.3.1: trickle without restarts refuses a restart with 422, and §4.3.3 keeps
    // the session's ICE session as it was.
    const restart = await patch(
      { 'if-match': '*' },
      fragment('newufrag', 'a-new-ice-password-of-22-chars'),
    );
    expect(restart.status).toBe(422);
    expect((await errorOf(restart)).message).toMatch(/ICE restart/);
    expect(publisher.pc.connectionState).toBe('connected');
    expect(server.media.stats().publishers).toBe(1);
    expect((await patch({ 'if-match': etag })).status).toBe(204);

    // DELETE ignores If-Match (§4.3.1).
    const deleted = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${offerKey}`, 'if-match': '"stale"' },
    });
    expect(deleted.status).toBe(200);
  });

  it('refuses a WHIP offer whose video it cannot forward with 422 naming the supported codecs', async () => {
    const key = await keyOf(server, host);
    const vp9Only = await sendingOffer({ audio: [opus], video: [vp9] }, cleanup);
    const res = await whip(server, key, vp9Only);
    expect(res.status).toBe(422);
    const error = await errorOf(res);
    expect(error.message).toMatch(/video/);
    expect(error.message).toMatch(/Supported video codecs: H264, VP8; audio codecs: opus/);
    // Nothing published.
    expect(server.media.stats().publishers).toBe(0);

    // The same through the stream's own WHIP URL, with its key.
    const started = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'codecs' },
    });
    const direct = await fetch(`${server.url}/api/live/${started.body.streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${started.body.streamKey}`,
      },
      body: vp9Only,
    });
    expect(direct.status).toBe(422);
  });

  it('refuses a WHEP offer that cannot receive the stream’s video with 422, and takes one that can', async () => {
    const { streamId } = await obsLive();
    const whep = async (offer: string) =>
      fetch(`${server.url}/api/live/${streamId}/whep`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${viewer.token}` },
        body: offer,
      });
    const refused = await whep(await receivingOffer([vp9], cleanup));
    expect(refused.status).toBe(422);
    expect((await errorOf(refused)).message).toMatch(
      /sends video as VP8 .*cannot receive its video/,
    );
    expect(server.media.stats().subscribers).toBe(0);

    const watcher = new RecordingViewer();
    cleanup.push(() => watcher.close());
    const accepted = await whep(await watcher.offer());
    expect(accepted.status).toBe(201);
  });

  it('challenges a missing or wrong credential with WWW-Authenticate: Bearer (RFC 6750 §3)', async () => {
    const offer = await new SyntheticPublisher().offer();
    const none = await fetch(`${server.url}/api/live/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: offer,
    });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="onair"');
    const wrong = await whip(server, 'not-a-key', offer);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="onair", error="invalid_token", error_description="[^"]+"$/,
    );
    const { streamId, location } = await obsLive();
    const session = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer wrong' },
    });
    expect(session.status).toBe(401);
    expect(session.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const forged = await fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer forged.token.value' },
      body: await new RecordingViewer().offer(),
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toMatch(/^Bearer realm="onair", error=/);
  });

  it('offers TURN with credentials in Link on every publishing endpoint (RFC 9725 §4.6)', async () => {
    const turnLinks = (res: Response) => {
      const link = res.headers.get('link') ?? '';
      expect(link).toContain('<stun:stun.example.test:3478>; rel="ice-server"');
      const turn =
        /<turn:turn\.example\.test:3478\?transport=udp>; rel="ice-server"; username="(\d+):([^"]+)"; credential="([^"]+)"; credential-type="password"/.exec(
          link,
        );
      expect(turn, link).not.toBeNull();
      const [, expiry, userId, credential] = turn!;
      expect(createHmac('sha1', turnSecret).update(`${expiry}:${userId}`).digest('base64')).toBe(
        credential,
      );
      return userId;
    };
    // OBS's URL: the key's owner is the publisher.
    const obs = await whip(
      server,
      await keyOf(server, host),
      await new SyntheticPublisher().offer(),
    );
    expect(obs.status).toBe(201);
    expect(turnLinks(obs)).toBe(host.user.id);
    await endLive(server, host);

    const started = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'turn' },
    });
    const direct = await fetch(`${server.url}/api/live/${started.body.streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${started.body.streamKey}`,
      },
      body: await new SyntheticPublisher().offer(),
    });
    expect(direct.status).toBe(201);
    expect(turnLinks(direct)).toBe(host.user.id);
  });

  it('answers CORS preflights for every method, whatever headers, and exposes what clients read', async () => {
    const { streamId, location } = await obsLive();
    const preflight = (path: string, method: string, headers: string) =>
      fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://player.example.test',
          'access-control-request-method': method,
          'access-control-request-headers': headers,
        },
      });
    const endpoints = [
      '/api/live/whip',
      `/api/live/${streamId}/whip`,
      `/api/live/${streamId}/whep`,
    ];
    for (const path of endpoints) {
      const res = await preflight(path, 'POST', 'authorization,content-type');
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect(res.headers.get('access-control-allow-methods')).toMatch(/OPTIONS/);
      expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      expect(res.headers.get('access-control-allow-headers')).toMatch(/Content-Type/);
      expect(res.headers.get('accept-post')).toBe('application/sdp');
    }
    for (const method of ['PATCH', 'DELETE']) {
      const res = await preflight(location, method, 'authorization,content-type,if-match');
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-methods')).toMatch(new RegExp(method));
      expect(res.headers.get('access-control-allow-headers')).toMatch(/If-Match/);
      expect(res.headers.get('accept-patch')).toBe('application/trickle-ice-sdpfrag');
    }
    const answered = await whip(
      server,
      await keyOf(server, viewer),
      await new SyntheticPublisher().offer(),
    );
    expect(answered.status).toBe(201);
    const exposed = answered.headers.get('access-control-expose-headers') ?? '';
    for (const name of ['Location', 'Link', 'ETag', 'Accept-Patch', 'Retry-After'])
      expect(exposed).toContain(name);
    await endLive(server, viewer);
  });
});

describe('the rules under those answers', () => {
  it('reads If-Match as RFC 9110 §13.1.1 does: strong comparison, a list, or *', () => {
    const etag = '"abc"';
    expect(ifMatch(undefined, etag)).toBe('missing');
    expect(ifMatch('', etag)).toBe('missing');
    expect(ifMatch('*', etag)).toBe('any');
    expect(ifMatch('"abc"', etag)).toBe('matched');
    expect(ifMatch('"x", "abc"', etag)).toBe('matched');
    expect(ifMatch('W/"abc"', etag)).toBe('failed');
    expect(ifMatch('"abd"', etag)).toBe('failed');
  });

  it('judges only what an offer sends, and for viewers only what the stream carries', async () => {
    const cleanup: Cleanup = [];
    const vp9Offer = await sendingOffer({ audio: [opus], video: [vp9] }, cleanup);
    expect(unforwardableKinds(vp9Offer)).toEqual(['video']);
    // A section the offerer rejected (port 0) or only receives on sends nothing to forward.
    const rejected = vp9Offer.replace(/^m=video \d+/m, 'm=video 0');
    expect(unforwardableKinds(rejected)).toEqual([]);
    const receiving = vp9Offer.replace(/(m=video[\s\S]*?)a=sendonly/, '$1a=recvonly');
    expect(unforwardableKinds(receiving)).toEqual([]);

    const stream = { audio: { name: 'opus' }, video: { name: 'VP8' } };
    const vp9Viewer = await receivingOffer([vp9], cleanup);
    expect(unreceivableKinds(vp9Viewer, stream)).toEqual(['video']);
    // An audio-only stream gives a VP9-only player its audio.
    expect(unreceivableKinds(vp9Viewer, { audio: { name: 'opus' } })).toEqual([]);
    // A video-only stream and an audio-only player: nothing it could receive.
    const audioOnly = vp9Viewer.replace(/^m=video \d+/m, 'm=video 0');
    expect(unreceivableKinds(audioOnly, { video: { name: 'VP8' } })).toEqual(['video']);
    for (const close of cleanup) await close();
  });
});
