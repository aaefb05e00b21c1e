import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';
import { RecordingViewer, SyntheticPublisher, connected, waitFor } from './support/loopback-peers';

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

describe('joining a stream', () => {
  let server: TestServer;
  let viewerUser: TestUser;
  let streamId: string;
  let publisher: SyntheticPublisher;

  beforeAll(async () => {
    server = await startTestServer();
    const host = await registerUser(server);
    viewerUser = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'joins' },
    });
    streamId = started.body.streamId;
    publisher = new SyntheticPublisher();
    const res = await fetch(`${server.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${started.body.streamKey}`,
      },
      body: await publisher.offer(),
    });
    await publisher.accept(await res.text());
    publisher.start();
  });
  afterAll(async () => {
    await publisher?.close();
    await server?.stop();
  });

  // werift used to wait 5 s for a public STUN server's DNS lookup in 2–10% of joins; the server
  // is configured so that cannot happen. Every join here must connect and get media promptly.
  it('connects 40 viewers in a row with no stalled join (p95 under a second)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const viewer = new RecordingViewer();
      const started = performance.now();
      const offer = await viewer.offer();
      const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${viewerUser.token}` },
        body: offer,
      });
      expect(res.status).toBe(201);
      await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      await connected(viewer.pc);
      await waitFor(() => viewer.received('video') > 0, 5000, 'first video packet');
      times.push(performance.now() - started);
      await fetch(`${server.url}${res.headers.get('location')}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${viewerUser.token}` },
      });
      await viewer.close();
    }
    const p50 = percentile(times, 0.5);
    const p95 = percentile(times, 0.95);
    console.log(
      `WHEP join → first packet (ms): p50 ${p50.toFixed(0)}, p95 ${p95.toFixed(0)}, max ${Math.max(...times).toFixed(0)}`,
    );
    expect(Math.max(...times)).toBeLessThan(4000);
    expect(p95).toBeLessThan(1000);
    expect(server.media.stats().subscribers).toBe(0);
  }, 120_000);
});
