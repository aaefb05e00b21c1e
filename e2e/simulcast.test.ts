import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import {
  api,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { launchChromium, type BrowserSession } from './support/chromium';
import { openRtcPage } from './support/rtc-page';
import { until } from './support/until';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ViewerStats {
  framesDecoded: number;
  frameHeight: number;
  keyFramesDecoded: number;
}

interface LayerStats {
  bytesSent: number;
  frameHeight: number;
  keyFramesEncoded: number;
  timestamp: number;
}

/**
 * A Chromium publisher sending three layers, one video section each, through the server to
 * Chromium viewers over WHEP and the socket: each viewer gets the layer it asked for, switches
 * without reconnecting, and the publisher stops sending the layer nobody watches.
 */
describe('simulcast with Chromium', () => {
  let server: TestServer;
  let browser: BrowserSession;
  let host: TestUser;
  let viewer: TestUser;
  let publisher: Page;
  let viewers: Page;
  let streamId: string;
  let roomSocket: Socket;
  const layerEvents: { height: number; active: boolean; needed: boolean; viewers: number }[][] = [];

  beforeAll(async () => {
    // Two media workers: viewers on the worker without the publisher are relayed, and what they
    // need reaches the publisher's worker as their demand.
    // Nothing recorded or packaged as HLS (those need every layer): layers pause when unwatched.
    server = await startTestServer({ env: { MEDIA_WORKERS: '2', RECORDINGS_DIR: 'none' } });
    host = await registerUser(server);
    viewer = await registerUser(server);
    browser = await launchChromium({ bypassCSP: true });
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'simulcast' },
    });
    streamId = started.body.streamId as string;
    publisher = await browser.context.newPage();
    await openRtcPage(publisher, server.url);
    await publisher.evaluate(
      ([id, key]) => (window as any).publishWhip(id, key, true),
      [streamId, started.body.streamKey as string],
    );
    viewers = await browser.context.newPage();
    await openRtcPage(viewers, server.url);
    roomSocket = io(server.url, { auth: { token: host.token }, transports: ['websocket'] });
    roomSocket.on(
      'live_layers',
      (e: { layers: { height: number; active: boolean; needed: boolean; viewers: number }[] }) =>
        layerEvents.push(e.layers),
    );
    await new Promise<void>((resolve) => roomSocket.once('connect', () => resolve()));
    await roomSocket.timeout(5000).emitWithAck('join_live', { streamId });
  }, 60_000);

  afterAll(async () => {
    roomSocket?.close();
    await browser?.close();
    await server?.stop();
  });

  const stats = (index: number): Promise<ViewerStats> =>
    viewers.evaluate((n) => (window as any).viewerStats(n), index);
  const layers = (): Promise<Record<string, LayerStats>> =>
    publisher.evaluate(() => (window as any).publisherLayers());
  const heightOf = async (index: number, height: number, ms: number) =>
    (
      await until(
        () => stats(index),
        (s) => s.frameHeight === height && s.framesDecoded > 0,
        ms,
      )
    ).frameHeight;

  it('sends each viewer the layer it asks for, over WHEP and the socket, and switches at once', async () => {
    const low = await viewers.evaluate(
      ([id, t]) => (window as any).watchWhep(id, t, 'low'),
      [streamId, viewer.token],
    );
    const high = await viewers.evaluate(
      ([id, t]) => (window as any).watchWhep(id, t, 'high'),
      [streamId, viewer.token],
    );
    const socketViewer = await viewers.evaluate(
      ([id, t]) => (window as any).watchSocket(id, t, 'medium'),
      [streamId, viewer.token],
    );
    expect(await heightOf(low, 180, 15_000)).toBe(180);
    expect(await heightOf(high, 720, 15_000)).toBe(720);
    expect(await heightOf(socketViewer, 360, 15_000)).toBe(360);

    // The decoder sees one continuous stream across a switch: frames keep coming, no reconnect.
    await viewers.evaluate(([n]) => (window as any).chooseQuality(n, 'low'), [socketViewer]);
    expect(await heightOf(socketViewer, 180, 5000)).toBe(180);
    const before = (await stats(socketViewer)).framesDecoded;
    await sleep(2000);
    expect((await stats(socketViewer)).framesDecoded).toBeGreaterThan(before + 20);
    await viewers.evaluate(([n]) => (window as any).chooseQuality(n, 'high'), [socketViewer]);
    expect(await heightOf(socketViewer, 720, 5000)).toBe(720);

    // The room hears the three layers by their real heights.
    const seen = await until(
      async () => layerEvents.at(-1),
      (l) => (l?.length ?? 0) === 3 && l?.every((x) => x.height > 0) === true,
      10_000,
    );
    expect(seen?.map((l) => l.height)).toEqual([180, 360, 720]);
  }, 90_000);

  it('pauses the layers nobody watches and resumes one within a second or so of a viewer needing it', async () => {
    await publisher.evaluate(
      ([id, t]) => (window as any).followLayers(id, t),
      [streamId, host.token],
    );
    // Every viewer on Low: the two upper layers are of no use.
    await viewers.evaluate(() => (window as any).stopWhep(1));
    await viewers.evaluate(([n]) => (window as any).chooseQuality(n, 'low'), [2]);
    const sent = async () => {
      const a = await layers();
      await sleep(1000);
      const b = await layers();
      return ['1', '2', '3'].map((mid) => (b[mid]?.bytesSent ?? 0) - (a[mid]?.bytesSent ?? 0));
    };
    const paused = await until(sent, (bytes) => bytes[1] === 0 && bytes[2] === 0, 15_000);
    if (paused[2] !== 0) console.log('layers heard last:', JSON.stringify(layerEvents.at(-1)));
    expect(paused[0]).toBeGreaterThan(0);
    expect(paused[1]).toBe(0);
    expect(paused[2]).toBe(0);
    const last = layerEvents.at(-1);
    expect(last?.map((l) => l.needed)).toEqual([true, false, false]);
    // Nor is the publisher asked for the bandwidth of the layers it no longer sends (REMB).
    const bandwidth = async () => publisher.evaluate(() => (window as any).publisherBandwidth());
    const lowered = await until(bandwidth, (bps: number) => bps > 0 && bps < 1_000_000, 10_000);
    console.log(
      `publisher's estimate with every viewer on Low: ${Math.round(lowered / 1000)} kbit/s`,
    );
    expect(lowered).toBeLessThan(1_000_000);

    const asked = Date.now();
    await viewers.evaluate(([n]) => (window as any).chooseQuality(n, 'high'), [2]);
    expect(await heightOf(2, 720, 5000)).toBe(720);
    const resumedMs = Date.now() - asked;
    console.log(`a paused top layer reached its viewer ${resumedMs} ms after it was chosen`);
    expect(resumedMs).toBeLessThan(3000);
    const raised = await until(bandwidth, (bps: number) => bps > 2_000_000, 10_000);
    expect(raised).toBeGreaterThan(2_000_000);
  }, 60_000);

  it('keeps the publisher to one keyframe per layer per second however many switches are asked', async () => {
    const first = await layers();
    await sleep(5000);
    const last = await layers();
    for (const mid of ['1', '2', '3']) {
      const a = first[mid];
      const b = last[mid];
      if (!a || !b) continue;
      const seconds = (b.timestamp - a.timestamp) / 1000;
      expect(b.keyFramesEncoded - a.keyFramesEncoded).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    }
  }, 30_000);
});
