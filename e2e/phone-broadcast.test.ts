/**
 * Going live from a phone held upright: the Go Live form comes before an empty list, the camera
 * is asked for portrait frames, and the host's preview and a viewer's player keep that shape
 * rather than showing a landscape strip.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { signedInPage, type BrowserSession } from './support/chromium';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts', 'phone-broadcast');
const phone = { width: 390, height: 844 };

/** The decoded frame's size and the size the element is drawn at. */
const shapeOf = (video: Locator) =>
  video.evaluate((element) => {
    const v = element as HTMLVideoElement;
    const box = v.getBoundingClientRect();
    return {
      videoWidth: v.videoWidth,
      videoHeight: v.videoHeight,
      boxWidth: Math.round(box.width),
      boxHeight: Math.round(box.height),
    };
  });

describe('broadcasting from a phone held upright', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(artifacts, `${name}.png`) });

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    server = await startTestServer({ env: { WEB_DIR: path.join(root, 'web/dist') } });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  const phoneUser = async (user: TestUser) => {
    return signedInPage(browsers, user.token, { viewport: phone, mobile: true });
  };

  it('puts Go Live before an empty list, and shows the portrait camera in portrait to the host and a viewer', async () => {
    const [hostUser, viewerUser] = await Promise.all([
      registerUser(server, uniqueName('phonehost')),
      registerUser(server, uniqueName('phoneviewer')),
    ]);
    const host = await phoneUser(hostUser);
    await host.goto(`${server.url}/`);
    // The emulated phone reports what an upright phone does, so the camera is asked for portrait.
    expect(
      await host.evaluate(
        () => matchMedia('(orientation: portrait) and (pointer: coarse)').matches,
      ),
    ).toBe(true);

    const title = host.getByLabel('Title');
    const empty = host.getByTestId('empty-list');
    await expect.poll(() => empty.isVisible()).toBe(true);
    const titleTop = (await title.boundingBox())!.y;
    const emptyTop = (await empty.boundingBox())!.y;
    expect(titleTop).toBeLessThan(emptyTop);
    // Within the first screen, with no scrolling.
    expect(titleTop).toBeLessThan(phone.height);

    await shot(host, 'go-live-first-phone');

    // The camera check shows the camera at its own shape too.
    const checkToggle = host.getByRole('button', { name: 'Camera check' });
    await checkToggle.click();
    const checkPreview = host.getByLabel('Camera check preview');
    await expect
      .poll(async () => (await shapeOf(checkPreview)).videoHeight, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const check = await shapeOf(checkPreview);
    expect(check.videoHeight).toBeGreaterThan(check.videoWidth);
    expect(check.boxHeight).toBeGreaterThan(check.boxWidth);
    await shot(host, 'camera-check-portrait-phone');
    await checkToggle.click();

    await title.fill('Walking tour, upright');
    await host.getByRole('button', { name: 'Go Live' }).click();
    await host.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => host.getByTestId('broadcast-status').textContent(), { timeout: 20_000 })
      .toBe('LIVE');
    const streamUrl = host.url();

    const preview = host.getByLabel('Your camera preview');
    await expect
      .poll(async () => (await shapeOf(preview)).videoHeight, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const hostShape = await shapeOf(preview);
    expect(hostShape.videoHeight).toBeGreaterThan(hostShape.videoWidth);
    expect(hostShape.boxHeight).toBeGreaterThan(hostShape.boxWidth);
    // Drawn at the picture's own shape (within a pixel or two of rounding), not letterboxed.
    const hostRatio = hostShape.videoWidth / hostShape.videoHeight;
    expect(Math.abs(hostShape.boxWidth / hostShape.boxHeight - hostRatio)).toBeLessThan(0.02);
    await shot(host, 'portrait-broadcast-host-phone');

    const viewer = await phoneUser(viewerUser);
    await viewer.goto(streamUrl);
    const remote = viewer.getByTestId('remote-video');
    await expect
      .poll(async () => (await shapeOf(remote)).videoHeight, { timeout: 20_000 })
      .toBeGreaterThan(0);
    await expect
      .poll(async () => {
        const s = await shapeOf(remote);
        return s.boxHeight > s.boxWidth && s.videoHeight > s.videoWidth;
      })
      .toBe(true);
    const viewerShape = await shapeOf(remote);
    const viewerRatio = viewerShape.videoWidth / viewerShape.videoHeight;
    expect(Math.abs(viewerShape.boxWidth / viewerShape.boxHeight - viewerRatio)).toBeLessThan(0.02);
    // The chat still has room below the picture.
    expect(viewerShape.boxHeight).toBeLessThanOrEqual(Math.ceil(phone.height * 0.6) + 1);
    await shot(viewer, 'portrait-broadcast-viewer-phone');
  });
});
