/**
 * WHIP and WHEP from Chromium on another origin, as a browser-based encoder or player calls them:
 * CORS preflights for POST, PATCH and DELETE with the headers they carry, the response headers a
 * script must read (Location, ETag, Link, Accept-Patch), and a real Chromium offer in a codec the
 * server cannot forward refused with 422.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  endLive,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { launchChromium, type BrowserSession } from './support/chromium';

/** What the page's fetch saw: the status, the headers a script may read, and the body. */
interface Seen {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

describe('WHIP and WHEP from a Chromium page on another origin', () => {
  let server: TestServer;
  let origin: Server;
  let originUrl: string;
  let browser: BrowserSession;
  let page: Page;
  let host: TestUser;
  let key: string;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        ICE_SERVERS: JSON.stringify([
          { urls: 'stun:stun.example.test:3478' },
          { urls: 'turn:turn.example.test:3478' },
        ]),
        TURN_SECRET: 'e2e-turn-secret',
      },
    });
    host = await registerUser(server);
    key = (await api(server.url)('GET', '/api/me/stream-key', { token: host.token })).body
      .streamKey;
    // A page of another origin (another port): every call to the server is cross-origin.
    origin = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>player</title>');
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.goto(originUrl);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => origin?.close(resolve));
    await server?.stop();
  });

  /** A fetch from the page; the headers are those CORS lets a script read. */
  const pageFetch = (
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: string },
  ) =>
    page.evaluate(
      async ({ url, init }): Promise<Seen> => {
        const res = await fetch(url, init);
        const names = [
          'location',
          'etag',
          'link',
          'accept-patch',
          'content-type',
          'www-authenticate',
        ];
        return {
          status: res.status,
          headers: Object.fromEntries(names.map((n) => [n, res.headers.get(n)])),
          body: await res.text(),
        };
      },
      { url, init },
    );

  it('publishes over WHIP cross-origin, trickles with If-Match, and ends with DELETE', async () => {
    await endLive(server, host);
    const offer = await page.evaluate(async () => {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const pc = new RTCPeerConnection();
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      (window as unknown as { publisher: RTCPeerConnection }).publisher = pc;
      return pc.localDescription!.sdp;
    });
    const posted = await pageFetch(`${server.url}/api/live/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: offer,
    });
    expect(posted.status, posted.body).toBe(201);
    expect(posted.headers.location).toMatch(/^\/api\/live\/[0-9a-f-]{36}\/whip\/[0-9a-f-]{36}$/);
    expect(posted.headers.etag).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(posted.headers['accept-patch']).toBe('application/trickle-ice-sdpfrag');
    expect(posted.headers.link).toContain('<stun:stun.example.test:3478>; rel="ice-server"');
    expect(posted.headers.link).toMatch(
      new RegExp(
        `<turn:turn\\.example\\.test:3478>; rel="ice-server"; username="\\d+:${host.user.id}"; credential="[^"]+"`,
      ),
    );
    const connected = await page.evaluate(async (answer) => {
      const pc = (window as unknown as { publisher: RTCPeerConnection }).publisher;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      for (let i = 0; i < 100 && pc.connectionState !== 'connected'; i += 1)
        await new Promise((r) => setTimeout(r, 100));
      return pc.connectionState;
    }, posted.body);
    expect(connected).toBe('connected');

    const session = `${server.url}${posted.headers.location}`;
    const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)![1];
    const pwd = /a=ice-pwd:(\S+)/.exec(offer)![1];
    const fragment = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=end-of-candidates\r\n`;
    const patch = (headers: Record<string, string>, body = fragment) =>
      pageFetch(session, {
        method: 'PATCH',
        headers: {
          'content-type': 'application/trickle-ice-sdpfrag',
          authorization: `Bearer ${key}`,
          ...headers,
        },
        body,
      });
    expect((await patch({ 'if-match': posted.headers.etag! })).status).toBe(204);
    expect((await patch({})).status).toBe(428);
    expect((await patch({ 'if-match': '"someone-else"' })).status).toBe(412);
    const restart = await patch(
      { 'if-match': '*' },
      fragment.replace(ufrag!, 'fresh').replace(pwd!, 'a-fresh-password-0123456789'),
    );
    expect(restart.status).toBe(422);

    // A viewer on the same page: anonymous WHEP, its headers read the same way.
    const streamId = posted.headers.location!.split('/')[3]!;
    const viewerOffer = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      (window as unknown as { viewer: RTCPeerConnection }).viewer = pc;
      return pc.localDescription!.sdp;
    });
    const watched = await pageFetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: viewerOffer,
    });
    expect(watched.status, watched.body).toBe(201);
    expect(watched.headers.location).toMatch(new RegExp(`^/api/live/${streamId}/whep/`));
    expect(watched.headers.etag).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(watched.headers['accept-patch']).toBe('application/trickle-ice-sdpfrag');
    expect(watched.headers.link).toContain('<stun:stun.example.test:3478>; rel="ice-server"');
    const unwatched = await pageFetch(`${server.url}${watched.headers.location}`, {
      method: 'DELETE',
    });
    expect(unwatched.status).toBe(200);
    await page.evaluate(() => (window as unknown as { viewer: RTCPeerConnection }).viewer.close());

    const ended = await pageFetch(session, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(ended.status).toBe(200);
    await page.evaluate(() =>
      (window as unknown as { publisher: RTCPeerConnection }).publisher.close(),
    );
  });

  it('refuses a Chromium offer with VP9 video only, naming the supported codecs, readable from the page', async () => {
    await endLive(server, host);
    const offer = await page.evaluate(async () => {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const pc = new RTCPeerConnection();
      for (const track of media.getTracks()) {
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
        if (track.kind === 'video') {
          const vp9 = RTCRtpSender.getCapabilities('video')!.codecs.filter(
            (c) => c.mimeType === 'video/VP9',
          );
          transceiver.setCodecPreferences(vp9);
        }
      }
      await pc.setLocalDescription(await pc.createOffer());
      const sdp = pc.localDescription!.sdp;
      pc.close();
      for (const track of media.getTracks()) track.stop();
      return sdp;
    });
    expect(offer).toMatch(/a=rtpmap:\d+ VP9\/90000/);
    expect(offer).not.toMatch(/a=rtpmap:\d+ (VP8|H264)\/90000/);
    const refused = await pageFetch(`${server.url}/api/live/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: offer,
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toContain('Supported video codecs: H264, VP8; audio codecs: opus');
    expect(server.media.stats().publishers).toBe(0);
  });

  it('reads a 401 challenge and WHEP discovery cross-origin', async () => {
    const unauthorized = await pageFetch(`${server.url}/api/live/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer wrong-key' },
      body: 'v=0\r\n',
    });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['www-authenticate']).toMatch(
      /^Bearer realm="onair", error="invalid_token"/,
    );

    // WHEP discovery (§4.2): a player sees that the URL takes SDP offers.
    const head = await pageFetch(`${server.url}/api/live/${crypto.randomUUID()}/whep`, {
      method: 'HEAD',
    });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/sdp');
  });
});
