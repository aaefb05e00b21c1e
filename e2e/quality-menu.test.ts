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

/** The rids of the open connection's video sender, in order, and whether each is sent. */
const sentLayers = (page: Page) =>
  page.evaluate(() => {
    const { peers } = window as unknown as { peers: RTCPeerConnection[] };
    const pc = peers.filter((p) => p.connectionState !== 'closed').at(-1);
    const sender = pc?.getSenders().find((s) => s.track?.kind === 'video');
    return (sender?.getParameters().encodings ?? []).map((e) => ({
      rid: e.rid,
      active: e.active,
      scale: e.scaleResolutionDownBy,
    }));
  });

const videoHeight = (page: Page) =>
  page.evaluate(
    () => document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]')?.videoHeight,
  );

describe('the quality menu over a simulcast broadcast', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];

  beforeAll(async () => {
    server = await startTestServer({ env: { WEB_DIR: path.join(root, 'web/dist') } });
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

  it('sends the 720p camera as q, h and f in one transceiver, lowest first', async () => {
    await expect
      .poll(async () => (await sentLayers(publisher)).map((l) => l.rid))
      .toEqual(['q', 'h', 'f']);
    expect(await sentLayers(publisher)).toEqual([
      { rid: 'q', active: true, scale: 4 },
      { rid: 'h', active: true, scale: 2 },
      { rid: 'f', active: true, scale: 1 },
    ]);
  });

  it('is a menu button: arrows move, Escape closes and gives focus back', async () => {
    const viewer = await signedInPage(browsers, undefined, {
      viewport: { width: 390, height: 844 },
    });
    await viewer.goto(watchUrl);
    const quality = viewer.getByRole('button', { name: /^Quality/ });
    await quality.focus();
    await viewer.keyboard.press('Enter');
    const items = viewer.getByRole('menu', { name: 'Quality' }).getByRole('menuitemradio');
    // Opened on the checked entry: Auto, this device never chose.
    await expect
      .poll(() => viewer.evaluate(() => document.activeElement?.textContent))
      .toMatch(/^Auto/);
    expect(await items.first().getAttribute('aria-checked')).toBe('true');
    const count = await items.count();
    await viewer.keyboard.press('ArrowUp');
    expect(await viewer.evaluate(() => document.activeElement?.textContent)).toBe(
      await items.nth(count - 1).textContent(),
    );
    await viewer.keyboard.press('Escape');
    expect(await viewer.getByRole('menu').count()).toBe(0);
    expect(await quality.evaluate((button) => button === document.activeElement)).toBe(true);
    expect(await quality.getAttribute('aria-expanded')).toBe('false');
  });

  it('lists 720p, 360p and 180p; Low holds the viewer at 180p across a reload; Auto returns to 720p', async () => {
    const viewer = await signedInPage(browsers, undefined);
    await viewer.goto(watchUrl);
    await expect.poll(() => videoHeight(viewer), { timeout: 15_000 }).toBe(720);

    // The menu names the heights the server reports (within a few seconds of joining).
    const quality = viewer.getByRole('button', { name: /^Quality/ });
    const menu = viewer.getByRole('menu', { name: 'Quality' });
    await expect
      .poll(
        async () => {
          if (!(await menu.isVisible())) await quality.click();
          const labels = await menu.getByRole('menuitemradio').allTextContents();
          await viewer.keyboard.press('Escape');
          return labels;
        },
        { timeout: 10_000 },
      )
      .toEqual(['Auto (720p)', 'High · 720p', 'Medium · 360p', 'Low · 180p']);

    // The host's health panel lists the same layers, highest first, all sent while watched.
    await expect
      .poll(() => publisher.getByTestId('stream-layers').locator('tbody tr').allTextContents())
      .toHaveLength(3);
    expect(
      await publisher.getByTestId('stream-layers').locator('tbody th').allTextContents(),
    ).toEqual(['720p', '360p', '180p']);

    await quality.click();
    await menu.getByRole('menuitemradio', { name: 'Low · 180p' }).click();
    await expect.poll(() => videoHeight(viewer), { timeout: 5000 }).toBe(180);

    // Remembered on this device: the next visit asks for Low from the start.
    await viewer.reload();
    await expect.poll(() => videoHeight(viewer), { timeout: 15_000 }).toBe(180);
    await viewer.getByRole('button', { name: /^Quality/ }).click();
    await expect
      .poll(() =>
        viewer.getByRole('menuitemradio', { name: 'Low · 180p' }).getAttribute('aria-checked'),
      )
      .toBe('true');

    // Auto on an unlimited loopback: the top layer again.
    await viewer.getByRole('menuitemradio', { name: /^Auto/ }).click();
    await expect.poll(() => videoHeight(viewer), { timeout: 10_000 }).toBe(720);
  });
});
