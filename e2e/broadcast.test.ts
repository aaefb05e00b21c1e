import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { launchChromium, type BrowserSession } from './support/chromium';
import { openRtcPage } from './support/rtc-page';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** 60 characters, one of them a single long word: the worst a title does to a narrow layout. */
const longTitle = 'Late-night synth jam with friends: Supercalifragilisticexpia';

/** Frames decoded by the web app's <video>. */
const framesDecoded = (page: Page) =>
  page.evaluate(
    () =>
      document
        .querySelector<HTMLVideoElement>('[data-testid="remote-video"]')
        ?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
  );

/** Whether the page is wider than its window (something pokes out sideways). */
const overflowsSideways = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

/**
 * Every camera and microphone track the page is given, recorded by wrapping getUserMedia before
 * the app loads: the test's own window onto the devices, nothing added to the product.
 */
const recordTracks = () => {
  const w = window as unknown as { capturedTracks: MediaStreamTrack[] };
  w.capturedTracks = [];
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const media = await original(constraints);
    w.capturedTracks.push(...media.getTracks());
    return media;
  };
};

const trackStates = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { capturedTracks: MediaStreamTrack[] }).capturedTracks.map(
      (t) => t.readyState,
    ),
  );

describe('broadcasting from the web app and from OBS', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];

  beforeAll(async () => {
    server = await startTestServer({ env: { WEB_DIR: path.join(root, 'web/dist') } });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  /** A signed-in person: the token the app would have stored after signing in. */
  const person = async (
    user: TestUser,
    options: { viewport?: { width: number; height: number }; tracks?: boolean } = {},
  ) => {
    const browser = await launchChromium({ viewport: options.viewport });
    browsers.push(browser);
    await browser.context.addInitScript((token) => {
      localStorage.setItem('onair.token', token);
    }, user.token);
    if (options.tracks) await browser.context.addInitScript(recordTracks);
    return browser.context.newPage();
  };

  const goLive = async (page: Page, title: string) => {
    await page.goto(`${server.url}/`);
    await page.getByLabel('Title').first().fill(title);
    await page.getByLabel('Tags (comma separated)').first().fill('synth, night');
    await page.getByRole('button', { name: 'Go Live' }).click();
    await page.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => page.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    return page.url().split('/').pop() as string;
  };

  it('goes live from OBS with the persistent key from the settings page', async () => {
    const host = await registerUser(server, uniqueName('obs'));
    const viewer = await registerUser(server, uniqueName('obsview'));
    const settings = await person(host);
    await settings.goto(`${server.url}/settings`);

    const nextStream = settings.getByRole('form', { name: 'Next stream' });
    await expect.poll(() => nextStream.getByLabel('Title').isEnabled()).toBe(true);
    await nextStream.getByLabel('Title').fill('Live from OBS');
    await nextStream.getByLabel('Tags (comma separated)').fill('obs');
    await nextStream.getByRole('button', { name: 'Save next stream' }).click();
    await expect.poll(() => nextStream.getByRole('status').textContent()).toMatch(/Saved/);

    const key = settings.getByTestId('stream-key');
    await expect.poll(() => key.textContent()).toMatch(/^•+$/);
    await settings.getByRole('button', { name: 'Show' }).click();
    const streamKey = (await key.textContent()) ?? '';
    expect(streamKey).not.toMatch(/•/);
    const whipUrl = (await settings.getByTestId('whip-url').textContent()) ?? '';
    expect(new URL(whipUrl).pathname).toBe('/api/live/whip');

    // OBS's part, played by a Chromium page: WHIP to the one URL with the key as Bearer token.
    const obsBrowser = await launchChromium({ bypassCSP: true });
    browsers.push(obsBrowser);
    const obs = await obsBrowser.context.newPage();
    await openRtcPage(obs, server.url);
    await obs.evaluate(
      ([url, bearer]) =>
        (
          window as unknown as { publishWhipTo: (u: string, b: string) => Promise<string> }
        ).publishWhipTo(url, bearer),
      [new URL(whipUrl).pathname, streamKey] as const,
    );

    const watcher = await person(viewer);
    await watcher.goto(`${server.url}/`);
    const card = watcher.getByTestId('stream-card');
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(1);
    expect(await card.getAttribute('aria-label')).toContain('Live from OBS');
    await card.click();
    await expect.poll(() => framesDecoded(watcher), { timeout: 15_000 }).toBeGreaterThan(5);
    expect(await watcher.getByTestId('stream-title').textContent()).toBe('Live from OBS');

    // A rotated key is refused at once; the settings page shows the new one.
    await settings.getByRole('button', { name: 'Rotate stream key' }).click();
    await settings.getByRole('dialog').getByRole('button', { name: 'Rotate key' }).click();
    await expect.poll(() => key.textContent()).not.toBe(streamKey);
    const refused = await fetch(`${server.url}/api/live/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` },
      body: 'v=0\r\n',
    });
    expect(refused.status).toBe(401);
  }, 120_000);

  it('uploads a thumbnail a few seconds after going live, shown on the list', async () => {
    const host = await registerUser(server, uniqueName('thumb'));
    const viewer = await registerUser(server, uniqueName('thumbview'));
    const broadcaster = await person(host);
    const streamId = await goLive(broadcaster, 'Thumbnail check');

    const list = await person(viewer);
    await list.goto(`${server.url}/`);
    const image = list.getByTestId('card-thumbnail');
    // About 5 s after going live, then a socket event to the list (or its next load).
    await expect.poll(() => image.count(), { timeout: 15_000 }).toBe(1);
    await expect
      .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), {
        timeout: 5000,
      })
      .toBeGreaterThan(0);
    const src = (await image.getAttribute('src')) ?? '';
    const res = await fetch(new URL(src, server.url));
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // a JPEG
    expect(bytes.length).toBeLessThanOrEqual(200 * 1024);
    expect(src).toContain(streamId);
  }, 90_000);

  it('shows the camera-off cue, then ends with the camera released and an honest summary', async () => {
    const host = await registerUser(server, uniqueName('host'));
    const viewer = await registerUser(server, uniqueName('viewer'));
    const broadcaster = await person(host, { tracks: true });
    const streamId = await goLive(broadcaster, 'Summary check');

    const watcher = await person(viewer);
    await watcher.goto(`${server.url}/live/${streamId}`);
    await expect.poll(() => framesDecoded(watcher), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await watcher.getByTestId('camera-off').count()).toBe(0);

    await broadcaster.getByRole('button', { name: 'Turn camera off' }).click();
    await expect
      .poll(() => watcher.getByText('Camera is off').isVisible(), { timeout: 5000 })
      .toBe(true);
    await broadcaster.getByRole('button', { name: 'Turn camera on' }).click();
    await expect.poll(() => watcher.getByTestId('camera-off').count(), { timeout: 5000 }).toBe(0);
    await broadcaster.getByRole('button', { name: 'Mute microphone' }).click();
    await expect
      .poll(() => watcher.getByTestId('mic-off').isVisible(), { timeout: 5000 })
      .toBe(true);

    for (const text of ['first comment', 'second comment']) {
      await watcher.getByLabel('Message', { exact: true }).fill(text);
      await watcher.getByLabel('Message', { exact: true }).press('Enter');
      await expect
        .poll(() => broadcaster.getByTestId('chat-message').filter({ hasText: text }).count())
        .toBe(1);
    }
    await expect.poll(() => broadcaster.getByTestId('viewer-count').textContent()).toBe('1');

    // The confirmation keeps focus inside, closes on Escape and gives focus back to its button.
    const endButton = broadcaster.getByRole('button', { name: 'End stream' });
    await endButton.click();
    const dialog = broadcaster.getByRole('dialog');
    expect(await dialog.isVisible()).toBe(true);
    for (let i = 0; i < 4; i++) {
      await broadcaster.keyboard.press('Tab');
      expect(
        await dialog.evaluate((d) => d.contains(document.activeElement)),
        'focus stays in the dialog',
      ).toBe(true);
    }
    await broadcaster.keyboard.press('Escape');
    expect(await dialog.count()).toBe(0);
    expect(await endButton.evaluate((b) => b === document.activeElement)).toBe(true);
    expect(await broadcaster.getByTestId('end-summary').count(), 'Escape ends nothing').toBe(0);

    const captured = await trackStates(broadcaster);
    expect(captured.length).toBeGreaterThanOrEqual(2);
    await endButton.click();
    await dialog.getByRole('button', { name: 'End stream' }).click();
    await expect
      .poll(() => broadcaster.getByTestId('end-summary').isVisible(), { timeout: 10_000 })
      .toBe(true);
    // Camera and microphone are off as soon as the summary shows: every track ever opened ended.
    expect(new Set(await trackStates(broadcaster))).toEqual(new Set(['ended']));

    await expect
      .poll(() => broadcaster.getByTestId('summary-comments').textContent(), { timeout: 10_000 })
      .toBe('2');
    expect(await broadcaster.getByTestId('summary-peak').textContent()).toBe('1');
    expect(await broadcaster.getByTestId('summary-unique').textContent()).toBe('1');
    expect(await broadcaster.getByTestId('summary-duration').textContent()).toMatch(/^\d+:\d\d$/);
    expect(await broadcaster.getByTestId('summary-duration').textContent()).not.toBe('0:00');

    await expect
      .poll(() => watcher.getByTestId('stream-ended').isVisible(), { timeout: 10_000 })
      .toBe(true);
    await broadcaster.getByRole('button', { name: 'Back home' }).click();
    await expect.poll(() => new URL(broadcaster.url()).pathname).not.toContain(streamId);
  }, 120_000);

  it('keeps a 60-character title inside a phone screen on every page', async () => {
    expect(longTitle).toHaveLength(60);
    const host = await registerUser(server, uniqueName('narrow'));
    const viewer = await registerUser(server, uniqueName('narrowview'));
    const phone = { width: 390, height: 844 };
    const broadcaster = await person(host, { viewport: phone });
    const streamId = await goLive(broadcaster, longTitle);
    const watcher = await person(viewer, { viewport: phone });
    await watcher.goto(`${server.url}/live/${streamId}`);
    await expect.poll(() => framesDecoded(watcher), { timeout: 15_000 }).toBeGreaterThan(0);
    const settings = await person(host, { viewport: phone });
    await settings.goto(`${server.url}/settings`);
    await expect.poll(() => settings.getByTestId('stream-key-panel').isVisible()).toBe(true);

    for (const width of [390, 320]) {
      for (const [name, page] of [
        ['broadcaster', broadcaster],
        ['viewer', watcher],
        ['settings', settings],
      ] as const) {
        await page.setViewportSize({ width, height: 800 });
        expect(await overflowsSideways(page), `${name} at ${width} px`).toBe(false);
      }
    }
    // The health panel hides behind its toggle on a phone, and comes out when asked.
    await broadcaster.setViewportSize(phone);
    await expect
      .poll(() => broadcaster.getByRole('button', { name: 'Show stream health' }).count(), {
        timeout: 5000,
      })
      .toBe(1);
    expect(await broadcaster.getByLabel('Stream health', { exact: true }).isVisible()).toBe(false);
    await broadcaster.getByRole('button', { name: 'Show stream health' }).click();
    expect(await broadcaster.getByLabel('Stream health', { exact: true }).isVisible()).toBe(true);
    expect(await overflowsSideways(broadcaster)).toBe(false);
  }, 120_000);
});
