import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartedStream, StreamDetails } from '@onair/protocol';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
} from '../server/test/support/server';
import { FixturePublisher } from '../server/test/support/loopback-peers';
import { signedInPage, type BrowserSession } from './support/chromium';
import { until } from './support/until';
import { recordPeerConnections } from './support/viewer-stats';
import { createNetNs, netnsUnavailable } from './support/netns';

const netnsMissing = await netnsUnavailable();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts', 'recording');

/** What the page's <video> has decoded and where it plays. */
const playback = (page: Page, testId: string) =>
  page.evaluate((id) => {
    const video = document.querySelector<HTMLVideoElement>(`[data-testid="${id}"]`);
    if (!video) return null;
    return {
      frames: video.getVideoPlaybackQuality().totalVideoFrames,
      currentTime: video.currentTime,
      duration: video.duration,
      paused: video.paused,
      mode: video.dataset.playback ?? null,
      width: video.videoWidth,
    };
  }, testId);

/** The codec the page's publishing connection sends its camera in. */
const sentCodec = (page: Page) =>
  page.evaluate(async () => {
    const pcs =
      (window as unknown as { onairPeerConnections?: RTCPeerConnection[] }).onairPeerConnections ??
      [];
    for (const pc of pcs) {
      const reports: Record<string, unknown>[] = [];
      (await pc.getStats()).forEach((r: Record<string, unknown>) => reports.push(r));
      const sent = reports.find((r) => r.type === 'outbound-rtp' && r.kind === 'video');
      const codec = reports.find((r) => r.id === sent?.codecId);
      if (typeof codec?.mimeType === 'string') return codec.mimeType;
    }
    return null;
  });

describe('recording, replay and live HLS in Chromium', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    server = await startTestServer({ env: { WEB_DIR: path.join(root, 'web/dist') } });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  it('records a 60 s stream from the web app (H.264), plays it live over HLS, and replays it with its chat', async () => {
    const host = await registerUser(server, uniqueName('rec'));
    const fan = await registerUser(server, uniqueName('fan'));
    const broadcaster = await signedInPage(browsers, host.token);
    await recordPeerConnections(broadcaster.context());
    await broadcaster.goto(`${server.url}/`);
    await broadcaster.getByLabel('Title').first().fill('Recorded jam');
    expect(await broadcaster.getByLabel('Record this stream').first().isChecked()).toBe(true);
    await broadcaster.getByRole('button', { name: 'Go Live' }).click();
    await broadcaster.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    const streamId = broadcaster.url().split('/').pop() as string;
    await expect
      .poll(() => broadcaster.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    const liveAt = Date.now();
    // The broadcaster prefers H.264 and the server takes it: what HLS players need.
    expect(
      await until(
        () => sentCodec(broadcaster),
        (c) => c !== null,
        10_000,
      ),
    ).toBe('video/H264');

    // A viewer whose network blocks WebRTC's UDP: `?playback=hls` is what the app falls back to.
    const viewer = await signedInPage(browsers, fan.token);
    await viewer.goto(`${server.url}/live/${streamId}?playback=hls`);
    const notice = viewer.getByTestId('hls-fallback-notice');
    await expect
      .poll(() => notice.textContent(), { timeout: 15_000 })
      .toBe('Low-latency unavailable, watching with a few seconds delay');
    const live = await until(
      () => playback(viewer, 'remote-video'),
      (p) => (p?.frames ?? 0) > 60,
      30_000,
    );
    expect(live?.mode).toBe('hls');
    expect(live?.frames).toBeGreaterThan(60);
    const multivariant = await (
      await fetch(`${server.url}/api/live/${streamId}/hls/index.m3u8`)
    ).text();
    expect(multivariant).toMatch(/CODECS="avc1\.[0-9a-f]{6},opus"/);
    await viewer.screenshot({ path: path.join(artifacts, 'live-hls-fallback.png') });

    // Chat at known moments: one early, one late.
    const say = async (text: string) => {
      const composer = viewer.getByLabel('Message', { exact: true });
      await composer.fill(text);
      await composer.press('Enter');
      await expect
        .poll(() => broadcaster.getByTestId('chat-message').filter({ hasText: text }).count())
        .toBe(1);
      return (Date.now() - liveAt) / 1000;
    };
    await new Promise((r) => setTimeout(r, Math.max(0, liveAt + 15_000 - Date.now())));
    const earlyAt = await say('early comment');
    await new Promise((r) => setTimeout(r, Math.max(0, liveAt + 50_000 - Date.now())));
    const lateAt = await say('late comment');
    await new Promise((r) => setTimeout(r, Math.max(0, liveAt + 60_000 - Date.now())));

    await broadcaster.getByRole('button', { name: 'End stream' }).click();
    await broadcaster.getByRole('dialog').getByRole('button', { name: 'End stream' }).click();
    const endedAt = Date.now();
    const lasted = (endedAt - liveAt) / 1000;

    // The share link becomes the replay.
    const details = await until(
      async () =>
        (await api(server.url)<StreamDetails>('GET', `/api/live/${streamId}`, { token: fan.token }))
          .body,
      (d) => d.recording?.status === 'ready',
      20_000,
    );
    expect(details.recording?.status).toBe('ready');
    // A 60 s stream yields 60 ± 2 s (the publisher's first frames arrive after LIVE shows).
    expect(details.recording!.durationSeconds).toBeGreaterThan(lasted - 2);
    expect(details.recording!.durationSeconds).toBeLessThan(lasted + 2);
    console.log(
      `replay of a stream live for ${lasted.toFixed(1)} s: ${details.recording!.durationSeconds} s`,
    );
    await expect
      .poll(() => viewer.getByTestId('replay').isVisible(), { timeout: 20_000 })
      .toBe(true);
    expect(await viewer.getByTestId('replay-badge').textContent()).toContain('Replay');
    const started = await until(
      () => playback(viewer, 'replay-video'),
      (p) => (p?.frames ?? 0) > 30,
      20_000,
    );
    expect(started?.mode).toBe('hls');
    expect(started?.duration).toBeGreaterThan(lasted - 2);

    // Seeking: to just before the late comment, then past it; the chat follows the picture.
    const seek = (t: number) =>
      viewer.evaluate((to) => {
        const video = document.querySelector<HTMLVideoElement>('[data-testid="replay-video"]')!;
        video.currentTime = to;
        void video.play();
      }, t);
    await seek(lateAt - 8);
    const before = await until(
      () => playback(viewer, 'replay-video'),
      (p) => p !== null && p.currentTime > lateAt - 8 && p.currentTime < lateAt - 4,
      10_000,
    );
    expect(before?.currentTime).toBeGreaterThan(lateAt - 8);
    const chat = viewer.getByTestId('replay-chat').getByTestId('chat-message');
    await expect.poll(() => chat.filter({ hasText: 'early comment' }).count()).toBe(1);
    expect(await chat.filter({ hasText: 'late comment' }).count()).toBe(0);
    const framesBefore = before?.frames ?? 0;
    await seek(lateAt + 2);
    await expect
      .poll(() => chat.filter({ hasText: 'late comment' }).count(), { timeout: 10_000 })
      .toBe(1);
    const after = await until(
      () => playback(viewer, 'replay-video'),
      (p) => (p?.frames ?? 0) > framesBefore + 30,
      10_000,
    );
    expect(after?.frames).toBeGreaterThan(framesBefore + 30);
    expect(earlyAt).toBeLessThan(lateAt);
    await viewer.screenshot({ path: path.join(artifacts, 'replay-with-chat.png') });
  }, 180_000);

  /** A host live from the web app (Chromium's fake camera, sent as H.264). */
  const goLiveInApp = async (on: TestServer, title: string) => {
    const host = await registerUser(on, uniqueName('host'));
    const page = await signedInPage(browsers, host.token);
    await page.goto(`${on.url}/`);
    await page.getByLabel('Title').first().fill(title);
    await page.getByRole('button', { name: 'Go Live' }).click();
    await page.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => page.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    return page.url().split('/').pop() as string;
  };

  /** Waits for the viewer's page to play over HLS, with the notice; returns frames decoded. */
  const fellBackToHls = async (viewer: Page, within: number) => {
    const notice = viewer.getByTestId('hls-fallback-notice');
    await expect.poll(() => notice.isVisible(), { timeout: within }).toBe(true);
    expect(await notice.textContent()).toBe(
      'Low-latency unavailable, watching with a few seconds delay',
    );
    const played = await until(
      () => playback(viewer, 'remote-video'),
      (p) => p?.mode === 'hls' && p.frames > 30,
      30_000,
    );
    expect(played?.mode).toBe('hls');
    expect(played?.frames).toBeGreaterThan(30);
  };

  it.skipIf(netnsMissing !== undefined)(
    `falls back to HLS on its own when WebRTC cannot connect: a network that drops UDP${netnsMissing ? ` (skipped: ${netnsMissing})` : ''}`,
    async () => {
      // A viewer in a network namespace whose link drops every UDP datagram (TCP passes): the
      // server listens everywhere and announces its media on the link's host side.
      const netns = await createNetNs();
      const onLink = await startTestServer({
        env: {
          HOST: '0.0.0.0',
          ANNOUNCED_IP: netns.hostAddress,
          WEB_DIR: path.join(root, 'web/dist'),
        },
      });
      try {
        await netns.limit({ rateKbit: 100_000, blockUdp: true });
        const streamId = await goLiveInApp(onLink, 'UDP blocked');
        const fan = await registerUser(onLink, uniqueName('noudp'));
        const browser = await netns.launchChromium();
        browsers.push(browser);
        await recordPeerConnections(browser.context);
        await browser.context.addInitScript((token) => {
          localStorage.setItem('onair.token', token);
        }, fan.token);
        const viewer = await browser.context.newPage();
        const openedAt = Date.now();
        await viewer.goto(
          `http://${netns.hostAddress}:${new URL(onLink.url).port}/live/${streamId}`,
        );
        await fellBackToHls(viewer, 20_000);
        // Not before WebRTC had its 5 s, and WebRTC never got through.
        expect(Date.now() - openedAt).toBeGreaterThan(5000);
        const states = await viewer.evaluate(() =>
          (
            (window as unknown as { onairPeerConnections?: RTCPeerConnection[] })
              .onairPeerConnections ?? []
          ).map((pc) => pc.iceConnectionState),
        );
        expect(states.length).toBeGreaterThan(0);
        expect(states).not.toContain('connected');
        expect((await netns.counters()).lossDrops).toBeGreaterThan(0);
      } finally {
        await onLink.stop();
        await netns.destroy();
      }
    },
    120_000,
  );

  it('falls back to HLS when the deployment has no WebRTC capacity left', async () => {
    const full = await startTestServer({
      env: { WEB_DIR: path.join(root, 'web/dist'), MEDIA_MAX_VIEWERS_PER_NODE: '1' },
    });
    try {
      const streamId = await goLiveInApp(full, 'Full house');
      const first = await signedInPage(browsers, (await registerUser(full)).token);
      await first.goto(`${full.url}/live/${streamId}`);
      const webrtc = await until(
        () => playback(first, 'remote-video'),
        (p) => (p?.frames ?? 0) > 30,
        20_000,
      );
      expect(webrtc?.mode).toBe('webrtc');
      const second = await signedInPage(browsers, (await registerUser(full)).token);
      await second.goto(`${full.url}/live/${streamId}`);
      await fellBackToHls(second, 20_000);
      await expect.poll(() => second.getByTestId('viewer-count').textContent()).toBe('2');
    } finally {
      await full.stop();
    }
  }, 120_000);

  it('replays a VP8 recording (a browser without an H.264 encoder) in the same player, as WebM', async () => {
    const host = await registerUser(server, uniqueName('vp8'));
    const started = await api(server.url)<StartedStream>('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'VP8 only' },
    });
    const { streamId, streamKey } = started.body;
    const publisher = new FixturePublisher();
    try {
      const whip = await fetch(`${server.url}/api/live/${streamId}/whip`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` },
        body: await publisher.offer(),
      });
      expect(whip.status).toBe(201);
      await publisher.accept(await whip.text());
      publisher.start();
      await new Promise((r) => setTimeout(r, 10_000));
      await api(server.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
    } finally {
      await publisher.close();
    }
    const details = await until(
      async () => (await api(server.url)<StreamDetails>('GET', `/api/live/${streamId}`)).body,
      (d) => d.recording?.status === 'ready',
      20_000,
    );
    expect(details.recording?.url).toBe(`/api/live/${streamId}/recording.webm`);
    // Anyone may watch a public stream's replay, signed in or not.
    const viewer = await signedInPage(browsers, undefined);
    await viewer.goto(`${server.url}/live/${streamId}`);
    // The person presses play.
    await viewer.getByTestId('replay-video').waitFor();
    await viewer.evaluate(() =>
      document.querySelector<HTMLVideoElement>('[data-testid="replay-video"]')!.play(),
    );
    const started2 = await until(
      () => playback(viewer, 'replay-video'),
      (p) => (p?.frames ?? 0) > 30,
      20_000,
    );
    expect(started2?.frames).toBeGreaterThan(30);
    expect(started2?.width).toBe(1280);
    expect(started2?.duration).toBeGreaterThan(8);
    await viewer.evaluate(() => {
      const video = document.querySelector<HTMLVideoElement>('[data-testid="replay-video"]')!;
      video.currentTime = 7;
    });
    const sought = await until(
      () => playback(viewer, 'replay-video'),
      (p) => (p?.currentTime ?? 0) >= 7,
      10_000,
    );
    expect(sought?.currentTime).toBeGreaterThanOrEqual(7);
  }, 90_000);
});
