import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, uniqueName, type TestServer } from '../server/test/support/server';
import { launchChromium, type BrowserSession } from './support/chromium';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts', 'web');

/** Frames decoded by the page's <video>, and its size. */
const playback = (page: Page) =>
  page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
    if (!video) return { frames: 0, width: 0 };
    return { frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth };
  });

describe('the web app in Chromium: go live, watch, chat, react, end', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const shot = async (page: Page, name: string) =>
    page.screenshot({ path: path.join(artifacts, `${name}.png`) });

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    // The production build served by the API's own process, as `npm start` does.
    server = await startTestServer({ env: { WEB_DIR: path.join(root, 'web/dist') } });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  /** What the browser refused under the server's Content Security Policy. */
  const cspViolations: string[] = [];

  const person = async (viewport = { width: 1280, height: 800 }) => {
    const browser = await launchChromium({ viewport });
    browsers.push(browser);
    const page = await browser.context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    return page;
  };

  const signUp = async (page: Page, name: string, screenshot?: string) => {
    // Anyone may look around; signing up starts from the header's "Sign in".
    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/signin/);
    if (screenshot) await shot(page, `00-signin-${screenshot}`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    if (screenshot) await shot(page, `00-signup-${screenshot}`);
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password').fill('a good password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(`${server.url}/`);
  };

  it('serves the app with a Content Security Policy', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
  });

  it('runs the whole scenario for three people', async () => {
    const [a, b, c] = await Promise.all([person(), person(), person({ width: 390, height: 844 })]);
    await Promise.all([
      signUp(a, uniqueName('anna'), 'desktop'),
      signUp(b, uniqueName('ben')),
      signUp(c, uniqueName('cara'), 'phone'),
    ]);
    await expect.poll(() => b.getByTestId('empty-list').isVisible()).toBe(true);
    await shot(b, '01-empty-list');

    await a.getByLabel('Title').fill('Sunset from the roof');
    await a.getByLabel('Tags (comma separated)').fill('sky, chill');
    await a.getByRole('button', { name: 'Go Live' }).click();
    await expect
      .poll(() => a.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    await shot(a, '02-broadcaster-live');

    for (const [page, name] of [
      [b, 'b'],
      [c, 'c'],
    ] as const) {
      await expect.poll(() => page.getByTestId('stream-card').count(), { timeout: 10_000 }).toBe(1);
      await shot(page, `03-list-${name}`);
    }
    const openedAt = Date.now();
    await Promise.all([b, c].map((page) => page.getByTestId('stream-card').click()));
    await expect
      .poll(async () => (await playback(b)).frames, { timeout: 10_000 })
      .toBeGreaterThan(0);
    const firstFrameMs = Date.now() - openedAt;
    await expect
      .poll(async () => (await playback(c)).frames, { timeout: 10_000 })
      .toBeGreaterThan(0);
    for (const page of [b, c]) {
      const first = await playback(page);
      expect(first.width).toBeGreaterThan(0);
      await expect
        .poll(async () => (await playback(page)).frames, { timeout: 10_000 })
        .toBeGreaterThan(first.frames + 5);
    }
    console.log(`opening the stream → first frame: ${firstFrameMs} ms`);
    await expect
      .poll(() => a.getByTestId('viewer-count').textContent(), { timeout: 10_000 })
      .toBe('2');
    await shot(b, '04-viewer-b');
    await shot(c, '04-viewer-c-phone');

    await b.getByLabel('Message', { exact: true }).fill('Hello from Ben');
    await b.getByLabel('Message', { exact: true }).press('Enter');
    for (const page of [a, b, c]) {
      await expect
        .poll(() => page.getByTestId('chat-message').filter({ hasText: 'Hello from Ben' }).count())
        .toBe(1);
    }
    await b.getByLabel('Message', { exact: true }).fill('<b>x</b>');
    await b.getByRole('button', { name: 'Send message' }).click();
    await expect
      .poll(() => c.getByTestId('chat-message').filter({ hasText: '<b>x</b>' }).count())
      .toBe(1);
    expect(await c.locator('[data-testid="chat-list"] b').count()).toBe(0);
    await shot(c, '05-chat-text-not-html');

    await c.getByRole('button', { name: 'React 🔥' }).click();
    await expect
      .poll(() => a.getByTestId('floating-reaction').count(), { timeout: 5000 })
      .toBeGreaterThan(0);
    await shot(a, '06-broadcaster-reaction');

    await a.getByRole('button', { name: 'End stream' }).click();
    await a.getByRole('dialog').getByRole('button', { name: 'End stream' }).click();
    for (const page of [b, c])
      await expect
        .poll(() => page.getByTestId('stream-ended').isVisible(), { timeout: 10_000 })
        .toBe(true);
    await shot(b, '07-ended-b');
    await b.getByRole('button', { name: 'Back to Live' }).click();
    await expect.poll(() => b.getByTestId('empty-list').isVisible()).toBe(true);
    expect(await b.getByTestId('stream-card').count()).toBe(0);
    await shot(b, '08-list-empty-again');
    // The app ran under the policy it is served with, and the policy refused nothing it needs.
    expect(cspViolations).toEqual([]);
  }, 180_000);
  it('offers a host who is already live their live stream instead of a second one', async () => {
    const page = await person();
    await signUp(page, uniqueName('dora'));
    await page.getByLabel('Title').fill('First');
    await page.getByRole('button', { name: 'Go Live' }).click();
    await page.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    const liveUrl = page.url();
    await expect
      .poll(() => page.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');

    await page.goto(`${server.url}/live`);
    await page.getByLabel('Title').fill('Second');
    await page.getByRole('button', { name: 'Go Live' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/already live/);
    await shot(page, '09-already-live');
    await page.getByRole('button', { name: 'Go to your live stream' }).click();
    await page.waitForURL(liveUrl);
    await expect
      .poll(() => page.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
  }, 60_000);
});
