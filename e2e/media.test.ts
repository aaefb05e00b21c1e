import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import {
  api,
  endLive,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { launchChromium, type BrowserSession } from './support/chromium';
import { writeNoisyY4m } from './support/noisy-video';
import { openRtcPage } from './support/rtc-page';
import { until } from './support/until';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe('media plane with Chromium', () => {
  let server: TestServer;
  let browser: BrowserSession;
  let host: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    host = await registerUser(server);
    viewer = await registerUser(server);
    // The harness injects its helpers into a page of our origin, which our CSP refuses.
    browser = await launchChromium({ bypassCSP: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const startStream = async (title: string) => {
    // A host has one live stream at a time: the previous test's stream ends first.
    await endLive(server, host);
    const res = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title },
    });
    expect(res.status).toBe(201);
    return res.body as { streamId: string; streamKey: string };
  };

  /** What a viewer that decoded nothing saw, and what the server and the publisher say. */
  const explain = async (
    publisher: Page,
    viewerPage: Page,
    index: number,
    viewerStats: unknown,
    how = '',
  ) => {
    const ice: unknown = await viewerPage.evaluate((n) => (window as any).viewerIce(n), index);
    const publisherStats: unknown = await publisher.evaluate(() =>
      (window as any).publisherStats(),
    );
    const metrics = (await (await fetch(`${server.url}/metrics`)).text())
      .split('\n')
      .filter((l) => l.startsWith('onair_media'));
    console.log(
      `viewer ${index} ${how} decoded nothing: ${JSON.stringify(viewerStats)}\nice: ${JSON.stringify(ice)}\npublisher: ${JSON.stringify(publisherStats)}\n${metrics.join('\n')}`,
    );
  };

  const newPage = async (): Promise<Page> => {
    const page = await browser.context.newPage();
    await openRtcPage(page, server.url);
    return page;
  };

  it('forwards an OBS-style WHIP publisher (stream key) to WHEP and socket viewers in Chromium', async () => {
    const { streamId, streamKey } = await startStream('whip');
    const publisher = await newPage();
    const location = await publisher.evaluate(
      ([id, key]) => (window as any).publishWhip(id, key),
      [streamId, streamKey],
    );
    expect(location).toMatch(new RegExp(`^/api/live/${streamId}/whip/`));

    const viewerPage = await newPage();
    const indexes: number[] = [];
    indexes.push(
      await viewerPage.evaluate(
        ([id, t]) => (window as any).watchWhep(id, t),
        [streamId, viewer.token],
      ),
    );
    indexes.push(
      await viewerPage.evaluate(
        ([id, t]) => (window as any).watchWhep(id, t),
        [streamId, viewer.token],
      ),
    );
    indexes.push(
      await viewerPage.evaluate(
        ([id, t]) => (window as any).watchSocket(id, t),
        [streamId, viewer.token],
      ),
    );

    for (const index of indexes) {
      const stats = (i: number) => viewerPage.evaluate((n) => (window as any).viewerStats(n), i);
      const first = await until(
        () => stats(index),
        (s) => s.framesDecoded > 0 && s.frameWidth > 0,
        10_000,
      );
      if (first.framesDecoded === 0) await explain(publisher, viewerPage, index, first);
      expect(first.framesDecoded).toBeGreaterThan(0);
      expect(first.frameWidth).toBeGreaterThan(0);
      const later = await until(
        () => stats(index),
        (s) => s.framesDecoded > first.framesDecoded + 10,
        10_000,
      );
      expect(later.framesDecoded).toBeGreaterThan(first.framesDecoded + 10);
      expect(later.videoWidth).toBeGreaterThan(0);
    }
    // The WHEP sessions and the socket viewer are one user: counted once.
    const details = await api(server.url)('GET', `/api/live/${streamId}`, { token: viewer.token });
    expect(details.body.viewerCount).toBe(1);
    await publisher.close();
    await viewerPage.close();
  });

  it('publishes over Socket.IO signalling and late joiners decode quickly (median of 10 joins)', async () => {
    const { streamId } = await startStream('socket');
    const publisher = await newPage();
    await publisher.evaluate(
      ([id, t]) => (window as any).publishSocket(id, t),
      [streamId, host.token],
    );
    const viewerPage = await newPage();
    const firstFrames: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const method = i % 2 === 0 ? 'watchSocket' : 'watchWhep';
      const index = await viewerPage.evaluate(
        ([m, id, t]) => (window as any)[m as string](id, t),
        [method, streamId, viewer.token],
      );
      const stats = await until(
        () => viewerPage.evaluate((n) => (window as any).viewerStats(n), index),
        (s) => s.firstFrameMs >= 0 && s.framesDecoded > 0,
        10_000,
      );
      if (stats.framesDecoded === 0) await explain(publisher, viewerPage, index, stats, method);
      expect(stats.framesDecoded).toBeGreaterThan(0);
      firstFrames.push(stats.firstFrameMs);
    }
    const p50 = median(firstFrames);
    console.log(
      `request → first decoded frame (ms), 10 Chromium joins: ${firstFrames.map((x) => x.toFixed(0)).join(', ')}; median ${p50.toFixed(0)}`,
    );
    expect(p50).toBeLessThan(1000);
    await publisher.close();
    await viewerPage.close();
  });
});

describe('broadcaster quality in Chromium', () => {
  it('reaches 1280x720 and at least 1.5 Mbit/s within 10 s', async () => {
    const server = await startTestServer();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-y4m-'));
    const clip = path.join(dir, 'noise.y4m');
    await writeNoisyY4m(clip);
    const browser = await launchChromium({
      bypassCSP: true,
      extraArgs: [`--use-file-for-fake-video-capture=${clip}`],
    });
    try {
      const host = await registerUser(server);
      const started = await api(server.url)('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'quality' },
      });
      const page = await browser.context.newPage();
      await openRtcPage(page, server.url);
      await page.evaluate(
        ([id, key]) => (window as any).publishWhip(id, key),
        [started.body.streamId, started.body.streamKey],
      );
      const sample = () => page.evaluate(() => (window as any).publisherStats());
      const t0 = Date.now();
      let previous = await sample();
      let best = { kbps: 0, width: 0, height: 0 };
      while (Date.now() - t0 < 10_000) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = await sample();
        const kbps =
          ((now.bytesSent - previous.bytesSent) * 8) / (now.timestamp - previous.timestamp);
        previous = now;
        if (now.frameWidth === 1280 && kbps > best.kbps)
          best = { kbps, width: now.frameWidth, height: now.frameHeight };
      }
      console.log(
        `publisher within 10 s: ${best.width}x${best.height} at ${best.kbps.toFixed(0)} kbit/s`,
      );
      expect(best.width).toBe(1280);
      expect(best.height).toBe(720);
      expect(best.kbps).toBeGreaterThan(1500);
    } finally {
      await browser.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
