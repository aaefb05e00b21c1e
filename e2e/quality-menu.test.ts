/**
 * Issue 19: the broadcaster sends three layers; a viewer picks one from the player's quality menu,
 * which this device remembers, and Auto goes back to what the network carries.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
} from '../server/test/support/server';
import { signedInPage, type BrowserSession } from './support/chromium';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Records the page's peer connections before the app loads: the test's window onto the
 * broadcaster's sender, nothing added to the product.
 */
const recordPeers = () => {
  const w = window as unknown as { peers: RTCPeerConnection[] };
  w.peers = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.peers.push(this);
    }
  };
};

/** The open connection's video sections, in order: each one's encodings, whether sent and scale. */
const sentLayers = (page: Page) =>
  page.evaluate(() => {
    const { peers } = window as unknown as { peers: RTCPeerConnection[] };
    const pc = peers.filter((p) => p.connectionState !== 'closed').at(-1);
    return (pc?.getTransceivers() ?? [])
      .filter((t) => t.receiver.track.kind === 'video')
      .map((t) =>
        t.sender.getParameters().encodings.map((e) => ({
          active: e.active,
          scale: e.scaleResolutionDownBy,
        })),
      );
  });

/** The height each video section (by mid) sends, from the broadcaster's outbound-rtp. */
const sentHeights = (page: Page) =>
  page.evaluate(async () => {
    const { peers } = window as unknown as { peers: RTCPeerConnection[] };
    const pc = peers.filter((p) => p.connectionState !== 'closed').at(-1);
    const heights: Record<string, number> = {};
    (await pc?.getStats())?.forEach((r: { type: string; kind?: string; mid?: string }) => {
      const out = r as RTCOutboundRtpStreamStats & { mid?: string };
      if (r.type === 'outbound-rtp' && r.kind === 'video')
        heights[out.mid ?? '-'] = out.frameHeight ?? 0;
    });
    return Object.keys(heights)
      .sort((a, b) => Number(a) - Number(b))
      .map((mid) => heights[mid]);
  });

const videoHeight = (page: Page) =>
  page.evaluate(
    () => document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]')?.videoHeight,
  );

describe('the quality menu over a simulcast broadcast', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];

  beforeAll(async () => {
    // Nothing recorded or packaged as HLS (those need every layer): layers pause when unwatched.
    server = await startTestServer({
      env: { WEB_DIR: path.join(root, 'web/dist'), MEDIA_WORKERS: '2', RECORDINGS_DIR: 'none' },
    });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  let publisher: Page;
  let watchUrl = '';

  beforeAll(async () => {
    const host = await registerUser(server, uniqueName('layers'));
    publisher = await signedInPage(browsers, host.token);
    await publisher.addInitScript(recordPeers);
    await publisher.goto(`${server.url}/`);
    await publisher.getByLabel('Title').first().fill('Three layers');
    await publisher.getByRole('button', { name: 'Go Live' }).click();
    await publisher.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await publisher
      .getByTestId('broadcast-status')
      .filter({ hasText: /^LIVE$/ })
      .waitFor({ timeout: 15_000 });
    watchUrl = publisher.url();
  });

  it('sends the 720p camera in three video sections, lowest first: 180p, 360p and 720p', async () => {
    expect(await sentLayers(publisher)).toEqual([
      [{ active: true, scale: 4 }],
      [{ active: true, scale: 2 }],
      [{ active: true, scale: 1 }],
    ]);
    await expect.poll(() => sentHeights(publisher), { timeout: 10_000 }).toEqual([180, 360, 720]);
  });

  it('is a menu button: arrows move, Escape closes and gives focus back', async () => {
    const viewer = await signedInPage(browsers, undefined, {
      viewport: { width: 390, height: 844 },
    });
    await viewer.goto(watchUrl);
    // Playing, so the entries are the layers' and stay put while the keys move through them.
    await expect.poll(() => videoHeight(viewer), { timeout: 15_000 }).toBeGreaterThan(0);
    const quality = viewer.getByRole('button', { name: /^Quality/ });
    await quality.focus();
    await viewer.keyboard.press('Enter');
    const items = viewer.getByRole('menu', { name: 'Quality' }).getByRole('menuitemradio');
    // Opened on the checked entry: Auto, this device never chose.
    await expect
      .poll(() => viewer.evaluate(() => document.activeElement?.textContent))
      .toMatch(/^Auto/);
    expect(await items.first().getAttribute('aria-checked')).toBe('true');
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(4);
    await viewer.keyboard.press('ArrowUp');
    expect(await viewer.evaluate(() => document.activeElement?.textContent)).toBe('Low · 180p');
    await viewer.keyboard.press('Escape');
    expect(await viewer.getByRole('menu').count()).toBe(0);
    expect(await quality.evaluate((button) => button === document.activeElement)).toBe(true);
    expect(await quality.getAttribute('aria-expanded')).toBe('false');
    // Gone, it needs no layer: the next test's viewer alone decides which are sent.
    await viewer.close();
  });

  it('lists 720p, 360p and 180p; Low holds the viewer at 180p across a reload and pauses the layers above; High resumes them', async () => {
    const viewer = await signedInPage(browsers, undefined);
    await viewer.goto(watchUrl);
    // Auto starts on the middle layer and climbs by probing (docs/adaptive-quality.md).
    await expect
      .poll(async () => [360, 720].includes((await videoHeight(viewer)) ?? 0), { timeout: 15_000 })
      .toBe(true);

    // The menu names the heights the server reports (within a few seconds of joining).
    const quality = viewer.getByRole('button', { name: /^Quality/ });
    const menu = viewer.getByRole('menu', { name: 'Quality' });
    await expect
      .poll(
        async () => {
          if (!(await menu.isVisible())) await quality.click();
          const labels = await menu.getByRole('menuitemradio').allTextContents();
          await viewer.keyboard.press('Escape');
          return labels.map((label) => label.replace(/^Auto \((360|720)p\)$/, 'Auto (playing)'));
        },
        { timeout: 10_000 },
      )
      .toEqual(['Auto (playing)', 'High · 720p', 'Medium · 360p', 'Low · 180p']);

    // The host's health panel lists the same layers, highest first, all sent while watched.
    const hostLayers = publisher.getByTestId('stream-layers').locator('tbody tr');
    await expect.poll(() => hostLayers.allTextContents()).toHaveLength(3);
    expect(
      await publisher.getByTestId('stream-layers').locator('tbody th').allTextContents(),
    ).toEqual(['720p', '360p', '180p']);

    await quality.click();
    await menu.getByRole('menuitemradio', { name: 'Low · 180p' }).click();
    await expect.poll(() => videoHeight(viewer), { timeout: 5000 }).toBe(180);

    // Nobody needs 360p or 720p now: the broadcaster pauses their sections, and the server sees
    // them stop.
    await expect
      .poll(async () => (await sentLayers(publisher)).map(([e]) => e?.active), { timeout: 5000 })
      .toEqual([true, false, false]);
    await expect
      .poll(async () => (await hostLayers.allTextContents()).map((row) => /sent/.test(row)), {
        timeout: 10_000,
      })
      .toEqual([false, false, true]);

    // Remembered on this device: the next visit asks for Low from the start.
    await viewer.reload();
    await expect.poll(() => videoHeight(viewer), { timeout: 15_000 }).toBe(180);
    await viewer.getByRole('button', { name: /^Quality/ }).click();
    await expect
      .poll(() =>
        viewer.getByRole('menuitemradio', { name: 'Low · 180p' }).getAttribute('aria-checked'),
      )
      .toBe('true');

    // High is given at once: the paused top section resumes and reaches the viewer.
    await viewer.getByRole('menuitemradio', { name: 'High · 720p' }).click();
    await expect.poll(() => videoHeight(viewer), { timeout: 5000 }).toBe(720);
    expect((await sentLayers(publisher)).map(([e]) => e?.active)).toEqual([true, true, true]);

    // Auto on an unlimited loopback keeps the top layer.
    await viewer.getByRole('button', { name: /^Quality/ }).click();
    await viewer.getByRole('menuitemradio', { name: /^Auto/ }).click();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await videoHeight(viewer)).toBe(720);
  });
});
